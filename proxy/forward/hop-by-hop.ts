// Hop-by-hop headers describe one connection, not the message (RFC 9110 §7.6.1), so a proxy must not pass them on.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** True for the fixed hop-by-hop names and every `proxy-*` header (Proxy-Connection, Proxy-Authorization, …). */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-');
}

/**
 * The header names a Connection header lists (lower-case), which are hop-by-hop too; null when there are none
 * beyond the usual keep-alive/close, so the common case allocates nothing.
 */
export function connectionNamed(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  const text = typeof value === 'string' ? value : value.join(',');
  const lower = text.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close') return null;
  let names: Set<string> | null = null;
  for (const token of lower.split(',')) {
    const name = token.trim();
    if (name === '' || name === 'close' || name === 'keep-alive') continue;
    (names ??= new Set()).add(name);
  }
  return names;
}

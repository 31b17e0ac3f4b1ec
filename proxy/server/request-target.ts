// The request target split into what the router matches on. Paths are matched and forwarded as sent
// (the router decodes params itself); only targets that could smuggle a different path past the router
// upstream are refused. docs/http-front-door.md lists what is refused and why.

export interface RequestTarget {
  path: string;
  /** Without "?"; "" when there is none. */
  query: string;
  /**
   * The authority of an absolute-form target ("http://api.example.com:8080/a" → "api.example.com:8080", as the URL
   * parser normalised it: lower-case, punycode, default port dropped), which replaces Host (RFC 9112 §3.2.2); null for
   * the usual origin-form ("/a").
   */
  authority: string | null;
}

/** The path and query of an origin-form ("/a?b") or absolute-form ("http://h/a?b") target; null → 400. */
export function parseRequestTarget(url: string): RequestTarget | null {
  if (url.charCodeAt(0) !== 47 /* / */) return parseAbsoluteForm(url);
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!isSafePath(path)) return null;
  return { path, query: q === -1 ? '' : url.slice(q + 1), authority: null };
}

/**
 * Absolute-form, which clients send to proxies (rare, so a real URL parser is affordable here): parsed by WHATWG URL,
 * refused with userinfo ("http://user@host/", never meaningful in a request and a classic way to confuse who the
 * target is), and only http/https. The path is still the one the client sent, byte for byte: URL normalises paths
 * (dot segments, escapes), which would make the gateway route one path and forward another.
 */
function parseAbsoluteForm(url: string): RequestTarget | null {
  const start = url.slice(0, 8).toLowerCase(); // schemes are case-insensitive (RFC 3986 §3.1)
  const scheme = start.startsWith('http://') ? 7 : start === 'https://' ? 8 : -1;
  if (scheme === -1) return null;
  let end = scheme;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  const rawAuthority = url.slice(scheme, end);
  if (rawAuthority === '' || rawAuthority.includes('@')) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.username !== '' || parsed.password !== '' || parsed.hostname === '') return null;
  const rest = url.slice(end);
  const q = rest.indexOf('?');
  let path = q === -1 ? rest : rest.slice(0, q);
  if (path === '') path = '/';
  else if (path.charCodeAt(0) !== 47 /* / */) return null; // "http://h#frag": a fragment is no part of a request target
  if (!isSafePath(path)) return null;
  return { path, query: q === -1 ? '' : rest.slice(q + 1), authority: parsed.host };
}

/**
 * Dot segments ("/a/../admin", also percent-encoded) would be matched here as one path and resolved upstream as
 * another, and so would a malformed escape; both are refused, and so is an encoded NUL ("%00"), which C-string
 * backends truncate at. Other escapes are forwarded as sent. Fast: most paths contain neither "." nor "%".
 */
function isSafePath(path: string): boolean {
  const hasDot = path.includes('.');
  const hasPercent = path.includes('%');
  if (!hasDot && !hasPercent) return true;
  let decoded = path;
  if (hasPercent) {
    if (/%(?![0-9A-Fa-f]{2})/.test(path) || path.includes('%00')) return false;
    decoded = path.replace(/%2e/gi, '.');
  }
  for (const segment of decoded.split('/')) {
    if (segment === '.' || segment === '..') return false;
  }
  return true;
}

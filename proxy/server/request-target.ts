// The request target split into what the router matches on. Paths are matched and forwarded as sent
// (the router decodes params itself); only targets that could smuggle a different path past the router
// upstream are refused.

export interface RequestTarget {
  path: string;
  /** Without "?"; "" when there is none. */
  query: string;
}

/** The path and query of an origin-form ("/a?b") or absolute-form ("http://h/a?b") target; null → 400. */
export function parseRequestTarget(url: string): RequestTarget | null {
  let start = 0;
  if (url.charCodeAt(0) !== 47 /* / */) {
    const scheme = url.startsWith('http://') ? 7 : url.startsWith('https://') ? 8 : -1;
    if (scheme === -1) return null;
    start = url.indexOf('/', scheme);
    if (start === -1) {
      const q = url.indexOf('?', scheme);
      return { path: '/', query: q === -1 ? '' : url.slice(q + 1) };
    }
  }
  const q = url.indexOf('?', start);
  const path = q === -1 ? (start === 0 ? url : url.slice(start)) : url.slice(start, q);
  if (!isSafePath(path)) return null;
  return { path, query: q === -1 ? '' : url.slice(q + 1) };
}

/**
 * Dot segments ("/a/../admin", also percent-encoded) would be matched here as one path and resolved upstream as
 * another, and so would a malformed escape; both are refused. Fast: most paths contain neither "." nor "%".
 */
function isSafePath(path: string): boolean {
  const hasDot = path.includes('.');
  const hasPercent = path.includes('%');
  if (!hasDot && !hasPercent) return true;
  let decoded = path;
  if (hasPercent) {
    if (/%(?![0-9A-Fa-f]{2})/.test(path)) return false;
    decoded = path.replace(/%2e/gi, '.');
  }
  for (const segment of decoded.split('/')) {
    if (segment === '.' || segment === '..') return false;
  }
  return true;
}

/** Lower-case host without port; "" when the request has no Host. Handles "[v6]:port". */
export function hostOf(header: string | undefined): string {
  if (header === undefined || header === '') return '';
  let end = header.length;
  if (header.charCodeAt(0) === 91 /* [ */) {
    const close = header.indexOf(']');
    end = close === -1 ? end : close + 1;
  } else {
    const colon = header.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  const host = end === header.length ? header : header.slice(0, end);
  return host.toLowerCase();
}

// Finds one query parameter in a raw query string without parsing the whole string into a map:
// a route checks at most a few names, so scanning is cheaper than building URLSearchParams per request.

/** The decoded value of the first `name` pair in `raw` (no "?"), "" for a bare key, undefined when absent. */
export function findQueryValue(raw: string, name: string): string | undefined {
  const len = raw.length;
  let start = 0;
  while (start < len) {
    let end = raw.indexOf('&', start);
    if (end === -1) end = len;
    let keyEnd = raw.indexOf('=', start);
    if (keyEnd === -1 || keyEnd > end) keyEnd = end;
    if (keyEquals(raw, start, keyEnd, name)) {
      return keyEnd === end ? '' : decodeQueryPart(raw.slice(keyEnd + 1, end));
    }
    start = end + 1;
  }
  return undefined;
}

/** `+` is a space and %XX an escape; a malformed escape is kept literally (as browsers do) rather than failing. */
export function decodeQueryPart(part: string): string {
  if (!needsDecoding(part, 0, part.length)) return part;
  const spaced = part.includes('+') ? part.replaceAll('+', ' ') : part;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

function keyEquals(raw: string, start: number, end: number, name: string): boolean {
  if (!needsDecoding(raw, start, end)) return end - start === name.length && raw.startsWith(name, start);
  return decodeQueryPart(raw.slice(start, end)) === name;
}

function needsDecoding(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */ || c === 0x2b /* + */) return true;
  }
  return false;
}

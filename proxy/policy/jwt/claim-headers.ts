// Claims copied onto the upstream request (claimsToHeaders). Only top-level claims: claim names such as
// "https://example.com/roles" contain dots, so a dotted path would be ambiguous.
//
// Value forms: a string as is; a finite number or a boolean as String(); an array of those joined with "," (the
// HTTP list form, as Envoy's claim_to_headers does); an object (or an array holding one) as its JSON. Absent, null,
// an empty array or any other value: the header is not set.
// A value is dropped unless it is visible ASCII, space or tab, and at most 8 KiB: CR/LF/NUL would split or end the
// header; Node sends U+0080–U+00FF as Latin-1 bytes and refuses anything above, so a non-ASCII value would be
// mangled or fail the upstream request.

export const MAX_CLAIM_HEADER_LENGTH = 8 * 1024;

const HEADER_SAFE = /^[\t\x20-\x7e]*$/;

export function isHeaderSafe(value: string): boolean {
  return value.length <= MAX_CLAIM_HEADER_LENGTH && HEADER_SAFE.test(value);
}

/** The header value for a claim, or undefined when the header is not to be set. */
export function claimHeaderValue(claim: unknown): string | undefined {
  const value = claimText(claim);
  return value !== undefined && isHeaderSafe(value) ? value : undefined;
}

function claimText(claim: unknown): string | undefined {
  if (typeof claim === 'string') return claim;
  if (typeof claim === 'boolean' || (typeof claim === 'number' && Number.isFinite(claim))) return String(claim);
  if (Array.isArray(claim)) {
    if (claim.length === 0) return undefined;
    if (claim.every((e) => typeof e === 'string' || typeof e === 'boolean' || (typeof e === 'number' && Number.isFinite(e)))) return claim.join(',');
    return JSON.stringify(claim);
  }
  if (typeof claim === 'object' && claim !== null) return JSON.stringify(claim);
  return undefined;
}

/**
 * [header, value] for every mapped claim the token has, in the configured order. A header is set once: `taken`
 * (the consumer header) is never overwritten by a claim, and of two claims mapped to one header the first present wins.
 */
export function claimHeaders(claims: Readonly<Record<string, unknown>>, mapping: ReadonlyArray<readonly [string, string]>, taken: string): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  const set = new Set([taken]);
  for (const [claim, header] of mapping) {
    if (set.has(header) || !Object.hasOwn(claims, claim)) continue;
    const value = claimHeaderValue(claims[claim]);
    if (value === undefined) continue;
    headers.push([header, value]);
    set.add(header);
  }
  return headers;
}

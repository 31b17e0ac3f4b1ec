// Whether a request's Origin is one a route lists (table `cors.allowOrigins`, normalised by the compiler): exact
// origins by one Set lookup, subdomain wildcards ("https://*.example.com", one or more labels) by prefix and suffix
// with the labels between checked, "*" by a flag. Shared by CORS and the WebSocket handshake's Origin check.

/** One wildcard origin split around its "*": "https://" and ".example.com[:port]". */
interface Wildcard {
  prefix: string;
  suffix: string;
}

/** Letters, digits, hyphens and dots: what may stand for the "*" of a wildcard (no ":", "/", "@"…). */
const LABELS_RE = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;

export class OriginMatcher {
  /** "*" was listed: every origin is admitted (and answered with "*" when no credentials are involved). */
  readonly any: boolean;
  readonly #exact: ReadonlySet<string>;
  readonly #wildcards: readonly Wildcard[];

  constructor(origins: readonly string[]) {
    this.any = origins.includes('*');
    const exact = new Set<string>();
    const wildcards: Wildcard[] = [];
    for (const o of origins) {
      const star = o.indexOf('://*.');
      if (star < 0) exact.add(o);
      else wildcards.push({ prefix: o.slice(0, star + 3), suffix: o.slice(star + 4) });
    }
    this.#exact = exact;
    this.#wildcards = wildcards;
  }

  /** `origin` as the client sent it; compared lower-case, as the compiler stored the list. */
  allows(origin: string): boolean {
    if (this.any) return true;
    if (this.#exact.has(origin)) return true;
    const lower = origin.toLowerCase();
    if (lower !== origin && this.#exact.has(lower)) return true;
    for (const w of this.#wildcards) {
      if (lower.length > w.prefix.length + w.suffix.length && lower.startsWith(w.prefix) && lower.endsWith(w.suffix)) {
        if (LABELS_RE.test(lower.slice(w.prefix.length, lower.length - w.suffix.length))) return true;
      }
    }
    return false;
  }
}

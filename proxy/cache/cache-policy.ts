// HTTP caching semantics (RFC 9111) for a shared cache in front of one upstream: which answers may be stored and for
// how long, what a caller's Cache-Control asks, and when a conditional request is answered 304 from a stored answer.
import type { IncomingHttpHeaders } from 'node:http';
import { connectionNamed, isHopByHop } from '../forward/hop-by-hop.ts';

/** Statuses cacheable by default (RFC 9110 §15.1); anything else (206, 302, 5xx but 501, …) is never stored. */
const CACHEABLE_STATUS = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

export interface CacheControl {
  noStore: boolean;
  noCache: boolean;
  private: boolean;
  maxAge: number | undefined;
  sMaxAge: number | undefined;
}

/** The directives this cache acts on; unknown ones are ignored, as RFC 9111 §5.2 asks. */
export function parseCacheControl(value: string | string[] | undefined): CacheControl {
  const cc: CacheControl = { noStore: false, noCache: false, private: false, maxAge: undefined, sMaxAge: undefined };
  if (value === undefined) return cc;
  const text = typeof value === 'string' ? value : value.join(',');
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const arg = eq < 0 ? undefined : part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (name === 'no-store') cc.noStore = true;
    // no-cache and private with a field list restrict those fields only; refusing the whole answer is the safe reading.
    else if (name === 'no-cache') cc.noCache = true;
    else if (name === 'private') cc.private = true;
    else if (name === 'max-age') cc.maxAge = seconds(arg);
    else if (name === 's-maxage') cc.sMaxAge = seconds(arg);
  }
  return cc;
}

/** Delta-seconds; an invalid value reads as 0 (stale), as RFC 9111 §1.2.2 asks. */
function seconds(arg: string | undefined): number {
  return arg !== undefined && /^\d+$/.test(arg) ? Number(arg) : 0;
}

/**
 * How long an upstream answer may be stored, in ms: the rule's TTL, shortened by the upstream's own freshness
 * (s-maxage, else max-age, else Expires − Date) and its Age; 0 when it must not be stored at all: a status not
 * cacheable by default, no-store, private (this cache is shared), no-cache (it would need revalidating on every use,
 * which this cache does not do), Set-Cookie (one caller's cookie must never reach another), Vary: *.
 */
export function storableForMs(status: number, headers: IncomingHttpHeaders, ruleTtlMs: number): number {
  if (!CACHEABLE_STATUS.has(status)) return 0;
  if (headers['set-cookie'] !== undefined) return 0;
  const vary: unknown = headers.vary;
  if (vary !== undefined && String(vary).includes('*')) return 0;
  const cc = parseCacheControl(headers['cache-control']);
  if (cc.noStore || cc.private || cc.noCache) return 0;
  let ttl = ruleTtlMs;
  const fresh = cc.sMaxAge ?? cc.maxAge;
  if (fresh !== undefined) ttl = Math.min(ttl, fresh * 1000);
  else if (headers.expires !== undefined) {
    const expires = Date.parse(headers.expires);
    // An Expires that does not parse means already expired (RFC 9111 §5.3). Measured on the upstream's clock.
    if (Number.isNaN(expires)) return 0;
    const date = headers.date === undefined ? Date.now() : Date.parse(headers.date);
    ttl = Math.min(ttl, expires - (Number.isNaN(date) ? Date.now() : date));
  }
  ttl -= upstreamAge(headers) * 1000;
  return ttl > 0 ? ttl : 0;
}

export function upstreamAge(headers: IncomingHttpHeaders): number {
  const age = headers.age;
  return age !== undefined && /^\d+$/.test(age) ? Number(age) : 0;
}

/** Never stored: hop-by-hop fields (and those Connection names), Age (recomputed on every hit), Set-Cookie. */
export function storedHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = connectionNamed(headers.connection);
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (isHopByHop(name) || name === 'age' || name === 'set-cookie' || (named !== null && named.has(name))) continue;
    out[name] = headers[name];
  }
  return out;
}

/** What a caller's own caching directives ask of this cache; null when it sends none (the usual case). */
export interface RequestDirectives {
  /** no-store: the answer is neither looked up nor stored. */
  noStore: boolean;
  /** max-age=0 or no-cache (or Pragma: no-cache): a fresh answer, which the rule may allow (client invalidation). */
  refresh: boolean;
}

export function requestDirectives(headers: IncomingHttpHeaders): RequestDirectives | null {
  const value = headers['cache-control'];
  if (value === undefined) {
    const pragma = headers.pragma;
    return pragma !== undefined && pragma.toLowerCase().includes('no-cache') ? { noStore: false, refresh: true } : null;
  }
  const cc = parseCacheControl(value);
  return { noStore: cc.noStore, refresh: cc.noCache || cc.maxAge === 0 };
}

/**
 * A conditional GET/HEAD the stored answer satisfies (RFC 9110 §13.2.2): If-None-Match against its ETag (weak
 * comparison, "*" matches any), else If-Modified-Since against its Last-Modified.
 */
export function notModified(request: IncomingHttpHeaders, stored: IncomingHttpHeaders): boolean {
  const inm = request['if-none-match'];
  if (inm !== undefined) {
    const etag = stored.etag;
    if (typeof etag !== 'string') return false;
    if (inm.trim() === '*') return true;
    const mine = opaqueTag(etag);
    return inm.split(',').some((tag) => opaqueTag(tag.trim()) === mine);
  }
  const ims = request['if-modified-since'];
  const lastModified = stored['last-modified'];
  if (ims === undefined || lastModified === undefined) return false;
  const since = Date.parse(ims);
  const modified = Date.parse(lastModified);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

/** W/"x" and "x" compare equal under weak comparison. */
function opaqueTag(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** A 304 carries no content fields: the client keeps the body (and its type and length) it has. */
export const NOT_IN_304 = ['content-length', 'content-type', 'content-encoding', 'content-language', 'content-range', 'transfer-encoding'] as const;

// A cached route's requests, after its policies (so a hit is still authorized and rate-limited): answered from the
// cache (HIT, or 304 to a conditional request the stored answer satisfies), or forwarded (MISS: its answer fills the
// cache while it streams, and other misses for the same key wait for it), or forwarded untouched (BYPASS: a method
// other than GET/HEAD, a caller's no-store or allowed invalidation, an Authorization the route does not authenticate).
import type { IncomingHttpHeaders } from 'node:http';
import type { Consumer } from '../policy/policy-types.ts';
import type { RuntimeRoute } from '../runtime/runtime-types.ts';
import type { GatewayRequest, GatewayResponse } from '../server/gateway-request.ts';
import { clientResponseHeaders } from '../forward/upstream-response-headers.ts';
import { cacheKey, variantOf, varyNames } from './cache-key.ts';
import { NOT_IN_304, notModified, requestDirectives } from './cache-policy.ts';
import type { CachedResponse } from './cached-response.ts';
import { CacheFill } from './cache-fill.ts';
import type { RouteCache } from './route-cache.ts';

/** One request as the cache sees it. */
export interface CacheCall {
  req: GatewayRequest;
  res: GatewayResponse;
  rr: RuntimeRoute;
  method: string;
  /** Lower-case, without the port. */
  host: string;
  path: string;
  query: string;
  requestId: string;
  consumer: Consumer | null;
  /** The policies' response headers (RateLimit fields), which a hit carries too. */
  policyHeaders: Array<[string, string]> | null;
}

/** How the request goes on: forwarded (with the fill that records its answer, and the headers to add), or answered here. */
export interface CacheOutcome {
  forward(fill: CacheFill | null, responseHeaders: Array<[string, string]>): void;
  answered(status: number, bytesOut: number): void;
}

export function serveThroughCache(cache: RouteCache, call: CacheCall, out: CacheOutcome): void {
  const method = call.method;
  const headers = call.req.headers;
  // Identity: on an authenticated route the key carries the consumer; elsewhere a credential we cannot key by is not cached.
  const anonymous = cache.keyedByConsumer ? call.consumer === null : headers.authorization !== undefined;
  if ((method !== 'GET' && method !== 'HEAD') || anonymous) return bypass(cache, call, out, null);
  const directives = requestDirectives(headers);
  if (directives !== null && directives.noStore) return bypass(cache, call, out, null);
  const key = cacheKey(cache.config, method, call.host, call.path, call.query, headers, call.consumer);
  // A caller asking for a fresh answer gets one only when the rule allows it; otherwise the header is ignored.
  if (directives !== null && directives.refresh && cache.mayInvalidate(call.consumer)) return bypass(cache, call, out, new CacheFill(cache, key, headers, null));
  const found = cache.lookup(key, headers);
  if (found instanceof Promise) {
    found.then(
      (record) => afterLookup(cache, call, out, key, record),
      () => afterLookup(cache, call, out, key, undefined),
    );
  } else afterLookup(cache, call, out, key, found);
}

function bypass(cache: RouteCache, call: CacheCall, out: CacheOutcome, fill: CacheFill | null): void {
  cache.counts.bypasses++;
  out.forward(fill, withCacheHeader(call.policyHeaders, 'BYPASS'));
}

function afterLookup(cache: RouteCache, call: CacheCall, out: CacheOutcome, key: string, record: CachedResponse | undefined): void {
  if (record !== undefined) return serveHit(cache, call, out, record);
  const headers = call.req.headers;
  const flight = cache.env.flights.lead(key);
  if (flight !== null) {
    cache.counts.misses++;
    return out.forward(new CacheFill(cache, key, headers, flight), withCacheHeader(call.policyHeaders, 'MISS'));
  }
  cache.env.flights.follow(key, Math.min(cache.env.coalesceWaitMs, call.rr.route.timeouts.requestMs), (landed) => {
    if (landed !== null && sameVariant(landed, headers)) return serveHit(cache, call, out, landed);
    // The leader's answer was not stored, is another variant, or did not come in time: upstream on our own.
    cache.counts.misses++;
    out.forward(null, withCacheHeader(call.policyHeaders, 'MISS'));
  });
}

function sameVariant(record: CachedResponse, headers: IncomingHttpHeaders): boolean {
  return record.variant === null || record.variant === variantOf(varyNames(record.headers.vary), headers);
}

function serveHit(cache: RouteCache, call: CacheCall, out: CacheOutcome, record: CachedResponse): void {
  const res = call.res;
  // A Redis lookup or a wait may outlast the client.
  if (res.destroyed) return out.answered(499, 0);
  const counts = cache.counts;
  counts.hits++;
  const rr = call.rr;
  const headers = clientResponseHeaders(record.headers, call.requestId, rr.responseHeaders, call.policyHeaders, rr.cors !== null);
  headers['age'] = String(record.ageAtStore + Math.max(0, Math.floor((cache.env.clock() - record.storedAt) / 1000)));
  headers['x-cache'] = 'HIT';
  if (record.status === 200 && notModified(call.req.headers, record.headers)) {
    for (const name of NOT_IN_304) delete headers[name];
    res.writeHead(304, headers);
    res.end();
    return out.answered(304, 0);
  }
  const body = call.method === 'HEAD' ? null : record.body;
  // A HEAD record keeps the upstream's Content-Length (that of the GET's body); a GET's is the stored body's.
  if (body !== null) headers['content-length'] = String(body.length);
  res.writeHead(record.status, headers);
  if (body !== null && body.length > 0) res.write(body);
  res.end();
  counts.hitBytes += body === null ? 0 : body.length;
  out.answered(record.status, body === null ? 0 : body.length);
}

function withCacheHeader(policy: Array<[string, string]> | null, value: 'MISS' | 'BYPASS'): Array<[string, string]> {
  return policy === null ? [['x-cache', value]] : [...policy, ['x-cache', value]];
}

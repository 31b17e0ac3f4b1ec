// The headers returned to the client: the upstream's minus hop-by-hop ones, the route's changes, the policies' fields
// (an upstream's own RateLimit fields must not contradict the gateway's), the request id. On a CORS route the
// upstream's Access-Control-* fields are dropped (the gateway's, set on the response already, stand) and Origin is
// added to its Vary.
import type { IncomingHttpHeaders } from 'node:http';
import { isCorsHeader, withVary } from '../policy/cors/cors-headers.ts';
import type { TableHeaderChanges } from '../table/table-schema.ts';
import { connectionNamed, isHopByHop } from './hop-by-hop.ts';
import { applyHeaderChanges, type HeaderBag } from './header-changes.ts';

export function clientResponseHeaders(
  upstream: IncomingHttpHeaders,
  requestId: string,
  changes: TableHeaderChanges | null,
  policy: ReadonlyArray<readonly [string, string]> | null,
  cors: boolean,
): HeaderBag {
  const named = connectionNamed(upstream.connection);
  const out: HeaderBag = {};
  for (const name in upstream) {
    if (isHopByHop(name) || (named !== null && named.has(name))) continue;
    if (cors && isCorsHeader(name)) continue;
    out[name] = upstream[name];
  }
  if (cors) out['vary'] = withVary(out['vary'], 'Origin');
  if (changes !== null) applyHeaderChanges(out, changes);
  if (policy !== null) for (const [name, value] of policy) out[name] = value;
  out['x-request-id'] = requestId;
  return out;
}

/**
 * Fields that must not be sent, or believed, in a trailer section (RFC 9110 §6.5.1: framing, routing, request modifiers,
 * authentication, response control and content handling), besides the hop-by-hop ones.
 */
const NOT_TRAILERS = new Set(['content-length', 'content-type', 'content-encoding', 'content-range', 'host', 'cache-control', 'expires', 'date', 'location', 'retry-after', 'vary', 'set-cookie', 'www-authenticate', 'authorization', 'age']);

/**
 * The upstream's trailer fields to pass on (HTTP/2 clients get them as a trailing HEADERS frame, HTTP/1.1 clients in
 * the last chunk of a chunked response); null when there are none, the usual case, which allocates nothing.
 */
export function clientTrailers(upstream: IncomingHttpHeaders | undefined): HeaderBag | null {
  let out: HeaderBag | null = null;
  for (const name in upstream) {
    if (isHopByHop(name) || NOT_TRAILERS.has(name)) continue;
    (out ??= {})[name] = upstream[name];
  }
  return out;
}

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

// The headers sent upstream: the client's, minus hop-by-hop ones, plus forwarding headers, the request id,
// the backend's Host, the trace context (W3C traceparent: this hop's, never the client's as sent), and finally the
// route's own changes (so a route can override any of them).
import type { GatewayRequest } from '../server/gateway-request.ts';
import type { TableHeaderChanges } from '../table/table-schema.ts';
import { connectionNamed, isHopByHop } from './hop-by-hop.ts';
import { applyHeaderChanges, type HeaderBag } from './header-changes.ts';
import { setForwardedHeaders } from './forwarded-headers.ts';
import { CLIENT_HEADER_RULES, keepsClaim, REPLACED, type PeerTrust } from './client-claimed-headers.ts';

/**
 * `owned`: headers the route's policies set (consumer, claims, authorizer context), never taken from the client so none
 * can be forged; `policyHeaders`: what the policies set them to for this request, applied last so a route's own header
 * changes cannot overwrite the authenticated identity. `traceparent`: this hop's (trace-context.ts nextTraceparent);
 * the client's `tracestate` goes with it only when the trace is the client's (its traceparent was valid), since its
 * entries describe that trace. `routeMethods` and `peers` decide the client's method overrides and address claims
 * (client-claimed-headers.ts).
 */
export function upstreamRequestHeaders(
  req: GatewayRequest,
  requestId: string,
  hostHeader: string | undefined,
  changes: TableHeaderChanges | null,
  owned: ReadonlySet<string> | null,
  policyHeaders: ReadonlyArray<readonly [string, string]> | null,
  traceparent: string,
  routeMethods: readonly string[],
  peers: PeerTrust,
): HeaderBag {
  const incoming = req.headers;
  const named = connectionNamed(incoming.connection);
  const out: HeaderBag = {};
  for (const name in incoming) {
    // HTTP/2's pseudo-headers (":path", ":authority", …) describe the request, not fields of it: never sent upstream.
    if (name.charCodeAt(0) === 58 /* : */ || isHopByHop(name) || (named !== null && named.has(name)) || (owned !== null && owned.has(name))) continue;
    const rule = CLIENT_HEADER_RULES.get(name);
    if (rule !== undefined && (rule === REPLACED || !keepsClaim(rule, incoming[name], req, routeMethods, peers))) continue;
    out[name] = incoming[name];
  }
  setForwardedHeaders(out, req);
  out['x-request-id'] = requestId;
  out.traceparent = traceparent;
  const state = incoming.tracestate;
  if (state !== undefined && sameTrace(incoming.traceparent, traceparent)) out.tracestate = state;
  const host = hostHeader ?? incoming.host;
  if (host !== undefined) out.host = host;
  if (changes !== null) applyHeaderChanges(out, changes);
  if (policyHeaders !== null) for (const [name, value] of policyHeaders) out[name] = value;
  return out;
}

/** Whether `ours` continues the client's trace (nextTraceparent kept its version and trace id). */
function sameTrace(sent: string | string[] | undefined, ours: string): boolean {
  return typeof sent === 'string' && sent.length === ours.length && sent.startsWith(ours.slice(0, 36));
}

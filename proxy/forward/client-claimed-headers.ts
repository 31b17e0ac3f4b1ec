// Request headers a backend could be tricked by, and what the gateway does with each by default
// (docs/http-front-door.md "Headers"). One map lookup per forwarded header decides; the rare rules that need more
// (whether the peer is a trusted proxy, whether an overridden method is one the route allows) run only when the
// header is there.
import type { GatewayRequest } from '../server/gateway-request.ts';

/** The gateway sets these itself (upstream-request-headers.ts): the client's value is never forwarded. */
export const REPLACED = 0;
/** Never forwarded: `Proxy` (httpoxy: CGI-style backends turn it into HTTP_PROXY and send their own calls through it). */
export const DROPPED = 1;
/** Client-address claims: forwarded only from a trusted proxy (`--trusted-proxies`), else removed. */
export const PEER_VOUCHED = 2;
/** Method overrides: forwarded only when they name a method the route allows. */
export const METHOD_OVERRIDE = 3;

type Rule = typeof REPLACED | typeof DROPPED | typeof PEER_VOUCHED | typeof METHOD_OVERRIDE;

export const CLIENT_HEADER_RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  // `expect` because the gateway answers 100-continue itself (expect-continue.ts) and undici refuses to send it.
  ['host', REPLACED],
  ['expect', REPLACED],
  ['x-request-id', REPLACED],
  ['x-forwarded-for', REPLACED],
  ['x-forwarded-proto', REPLACED],
  ['x-forwarded-host', REPLACED],
  ['traceparent', REPLACED],
  ['tracestate', REPLACED],
  // Only ever the gateway's: a client certificate it verified (tls/client-certificate.ts).
  ['x-forwarded-client-cert', REPLACED],
  ['proxy', DROPPED],
  ['forwarded', PEER_VOUCHED],
  ['x-real-ip', PEER_VOUCHED],
  ['x-http-method-override', METHOD_OVERRIDE],
  ['x-http-method', METHOD_OVERRIDE],
  ['x-method-override', METHOD_OVERRIDE],
]);

/** Whether the socket's peer is a proxy the operator trusts (ClientAddresses). */
export interface PeerTrust {
  trustsPeer(req: GatewayRequest): boolean;
}

/** For a header with a rule other than REPLACED: whether the client's value goes upstream. */
export function keepsClaim(rule: Rule, value: string | string[] | undefined, req: GatewayRequest, routeMethods: readonly string[], peers: PeerTrust): boolean {
  switch (rule) {
    case PEER_VOUCHED:
      return peers.trustsPeer(req);
    case METHOD_OVERRIDE:
      return typeof value === 'string' && overrideAllowed(value, routeMethods);
    default:
      return false;
  }
}

/**
 * A route that lists methods is a promise that the upstream only acts on those; an override naming another method
 * (a POST the route allows, overridden to DELETE) would break it. A route answering every method has none to break,
 * TRACE and CONNECT aside.
 */
function overrideAllowed(value: string, routeMethods: readonly string[]): boolean {
  const method = value.trim().toUpperCase();
  // TRACE and CONNECT need the route to list them (refused-methods.ts), overridden or not.
  if (routeMethods.length === 0) return method !== 'TRACE' && method !== 'CONNECT';
  return routeMethods.includes(method) || (method === 'HEAD' && routeMethods.includes('GET'));
}

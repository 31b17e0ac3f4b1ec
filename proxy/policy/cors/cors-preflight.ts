// CORS preflights (an OPTIONS with Origin and Access-Control-Request-Method) answered by the gateway: the route is
// the one the *requested* method would take, so a route need not list OPTIONS; the answer comes after that route's
// client IP rules (they need no credentials, and a refused network learns nothing) and before its authorizer and
// rate limits (a preflight carries no credentials and is not counted); it never reaches the upstream. A preflight for
// a route without CORS is not the gateway's to answer: it is routed as the OPTIONS request it is.
import type { GatewayRequest, GatewayResponse } from '../../server/gateway-request.ts';
import type { Runtime, RuntimeRoute } from '../../runtime/runtime-types.ts';
import type { ClientAddresses } from '../client-ip/client-address.ts';
import { sendError } from '../../server/error-response.ts';
import { newPolicyContext } from '../policy-types.ts';

/** What the gateway answered, for the request's metrics and access-log line. */
export interface PreflightAnswer {
  route: RuntimeRoute;
  status: number;
  /** The JSON body's `error` for a refusal; null for the 204. */
  error: string | null;
  bytesOut: number;
}

/** Caches keep preflight answers apart by what they were asked. */
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
const VARY = { vary: PREFLIGHT_VARY };

export function isPreflight(req: GatewayRequest): boolean {
  return req.headers['access-control-request-method'] !== undefined && req.headers.origin !== undefined;
}

/**
 * Answers a preflight for a CORS route and returns what it answered; null (nothing written) when the requested
 * method's route has no CORS or there is no such route.
 */
export function answerPreflight(
  runtime: Runtime,
  req: GatewayRequest,
  res: GatewayResponse,
  host: string,
  target: { path: string; query: string },
  requestId: string,
  addresses: ClientAddresses,
): PreflightAnswer | null {
  const requested = req.headers['access-control-request-method'] as string;
  const match = runtime.index.match({ host, method: requested, path: target.path, query: target.query, headers: req.headers });
  if (match.kind !== 'route') return null;
  const rr = runtime.routes.get(match.route.id);
  const cors = rr?.cors ?? null;
  if (rr === undefined || cors === null) return null;

  if (cors.preflightGate !== null) {
    const ctx = newPolicyContext(req, rr.route.id, requestId, 'OPTIONS', target, host, addresses.of(req));
    const denial = cors.preflightGate.run(ctx);
    if (denial !== null) return { route: rr, status: denial.status, error: denial.error, bytesOut: sendError(res, denial.status, denial.error, requestId) };
  }
  const origin = req.headers.origin as string;
  const headers = req.headers['access-control-request-headers'];
  // A refusal names no origin, method or header: the browser fails the preflight and sends nothing more.
  if (!cors.origins.allows(origin) || !cors.allowsMethod(requested) || (headers !== undefined && !cors.allowsHeaders(headers))) {
    const error = 'cors preflight refused';
    return { route: rr, status: 403, error, bytesOut: sendError(res, 403, error, requestId, VARY) };
  }
  const out: Record<string, string> = {
    'access-control-allow-origin': cors.allowOriginFor(origin),
    'access-control-allow-methods': cors.allowMethods,
    vary: PREFLIGHT_VARY,
    'x-request-id': requestId,
  };
  // The names as asked (all allowed): echoing them is exact for any case and for a "*" rule with credentials.
  if (headers !== undefined && headers.trim() !== '') out['access-control-allow-headers'] = headers;
  if (cors.credentials) out['access-control-allow-credentials'] = 'true';
  if (cors.maxAge !== null) out['access-control-max-age'] = cors.maxAge;
  res.writeHead(204, out);
  res.end();
  return { route: rr, status: 204, error: null, bytesOut: 0 };
}

// What a route that answers by itself (directResponse or redirect) gives the request path: built once per table,
// sent after the route's policies, counted in the route's metrics and access log like any other answer.
import type { GatewayRequest, GatewayResponse } from '../server/gateway-request.ts';
import type { RequestTarget } from '../server/request-target.ts';
import type { TableHeaderChanges, TableRoute } from '../table/table-schema.ts';
import { directAnswer } from './direct-response.ts';
import { redirectAnswer } from './redirect-action.ts';

/** One request to answer, with what the route's policies decided about it. */
export interface AnswerRequest {
  readonly req: GatewayRequest;
  readonly res: GatewayResponse;
  readonly method: string;
  readonly target: RequestTarget;
  /** Template-match params (redirect paths may use them); null for other matches. */
  readonly params: Readonly<Record<string, string>> | null;
  readonly requestId: string;
  /** The authenticated consumer's name; null when the route authenticates no one. */
  readonly consumer: string | null;
  /** Response headers the route's policies add (the RateLimit fields). */
  readonly policyHeaders: Array<[string, string]> | null;
  /** The route's responseHeaders changes (null when it has none). */
  readonly responseHeaders: TableHeaderChanges | null;
  /** CORS headers are already set on the response (the route has CORS). */
  readonly cors: boolean;
}

/** What was sent: the status and the body's bytes, for the metrics and the access log. */
export interface Answered {
  status: number;
  bytesOut: number;
  /** The gateway's own error text when the answer is one (an unusable Host on a redirect); null otherwise. */
  error: string | null;
}

export interface RouteAnswer {
  send(a: AnswerRequest): Answered;
}

/** null for a route that forwards (it pays one null check per request). */
export function buildRouteAnswer(route: TableRoute): RouteAnswer | null {
  if (route.directResponse !== undefined) return directAnswer(route.directResponse);
  if (route.redirect !== undefined) return redirectAnswer(route.redirect);
  return null;
}

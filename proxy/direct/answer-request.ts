// The request path's call into a route's own answer: the request, its policy outcome and the route's header changes
// gathered into one AnswerRequest.
import type { PolicyContext } from '../policy/policy-types.ts';
import type { MatchResult } from '../router/route-index-types.ts';
import type { RuntimeRoute } from '../runtime/runtime-types.ts';
import type { GatewayRequest, GatewayResponse } from '../server/gateway-request.ts';
import type { RequestTarget } from '../server/request-target.ts';
import type { Answered, RouteAnswer } from './route-answer.ts';

export function answerRequest(
  rr: RuntimeRoute,
  answer: RouteAnswer,
  req: GatewayRequest,
  res: GatewayResponse,
  method: string,
  target: RequestTarget,
  params: Extract<MatchResult, { kind: 'route' }>['params'],
  requestId: string,
  ctx: PolicyContext | null,
): Answered {
  return answer.send({
    req,
    res,
    method,
    target,
    params,
    requestId,
    consumer: ctx?.consumer?.name ?? null,
    policyHeaders: ctx?.responseHeaders ?? null,
    responseHeaders: rr.responseHeaders,
    cors: rr.cors !== null,
  });
}

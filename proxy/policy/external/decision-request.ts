// The JSON body POSTed to the authorizer service: the identity by source label, and the request it is asked about.
import type { PolicyContext } from '../policy-types.ts';

export interface DecisionRequest {
  identity: Record<string, string>;
  request: {
    method: string;
    path: string;
    host: string;
    routeId: string;
    clientIp: string;
    requestId: string;
    query?: string;
  };
}

export function decisionRequest(labels: readonly string[], values: readonly string[], ctx: PolicyContext): string {
  const identity: Record<string, string> = {};
  labels.forEach((label, i) => (identity[label] = values[i] as string));
  const body: DecisionRequest = {
    identity,
    request: { method: ctx.method, path: ctx.path, host: ctx.host, routeId: ctx.routeId, clientIp: ctx.clientIp, requestId: ctx.requestId },
  };
  if (ctx.query !== '') body.request.query = ctx.query;
  return JSON.stringify(body);
}

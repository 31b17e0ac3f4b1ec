// Expect: 100-continue. A client that asks for it waits for "100 Continue" before sending its body; the gateway sends
// it only once the route, the body-size check and the route's policies (authorizers, rate limits) have admitted the
// request, so a refused request gets its 401, 413 or 429 without the body ever crossing the network (and Node closes
// that connection after the answer, as the client may send the body anyway). Node sends 100 at once unless a
// 'checkContinue' listener exists. Any other expectation gets 417 (RFC 9110 §10.1.1). The upstream never sees Expect.
import type { GatewayRequest, GatewayResponse } from './gateway-request.ts';
import { sendError } from './error-response.ts';
import { requestIdFor } from './request-id.ts';

/** handleRequest, told whether the client waits for 100 Continue. */
type Handler = (req: GatewayRequest, res: GatewayResponse, continueFirst: boolean) => void;

export function serveExpectations(server: NodeJS.EventEmitter, handle: Handler): void {
  server.on('checkContinue', (req: GatewayRequest, res: GatewayResponse) => handle(req, res, true));
  server.on('checkExpectation', (req: GatewayRequest, res: GatewayResponse) => {
    req.on('error', ignore);
    res.on('error', ignore);
    sendError(res, 417, 'unsupported expectation', requestIdFor(req.headers['x-request-id']));
  });
}

function ignore(): void {}

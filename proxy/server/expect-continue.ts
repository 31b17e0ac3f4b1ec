// Expect: 100-continue. A client that asks for it waits for "100 Continue" before sending its body; the gateway sends
// it only once the route, the body-size check and the route's policies (authorizers, rate limits) have admitted the
// request, so a refused request gets its 401, 413 or 429 without the body ever crossing the network (and Node closes
// that connection after the answer, as the client may send the body anyway). Node sends 100 at once unless a
// 'checkContinue' listener exists. Any other expectation gets 417 (RFC 9110 §10.1.1). The upstream never sees Expect.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './error-response.ts';
import { requestIdFor } from './request-id.ts';

/** handleRequest, told whether the client waits for 100 Continue. */
type Handler = (req: IncomingMessage, res: ServerResponse, continueFirst: boolean) => void;

export function serveExpectations(server: NodeJS.EventEmitter, handle: Handler): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => handle(req, res, true));
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    req.on('error', ignore);
    res.on('error', ignore);
    sendError(res, 417, 'unsupported expectation', requestIdFor(req.headers['x-request-id']));
  });
}

function ignore(): void {}

// Requests Node's parser rejects never reach the handler; answer them in the same JSON shape, or just close. A parse
// error can arrive while earlier (pipelined) requests on the connection are still being answered: their responses go
// out first, whole and in order, and only then the error response and the close, so no error bytes ever land inside
// or in place of another response. (Node's own handler writes its 400 whenever no response bytes were sent yet, which
// a client then reads as the answer to the earlier request.)
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { rawErrorResponse } from './error-response.ts';

/** node:http's internals this reads (the same ones its default clientError handler reads). */
interface HttpSocket extends Duplex {
  /** The response being written on the connection; later pipelined ones wait in a queue behind it. */
  _httpMessage?: ServerResponse | null;
  parser?: { incoming?: { complete: boolean } | null } | null;
}

/** Sockets whose parse error is being handled: Node reports one again for every later read on them. */
const answering = new WeakSet<Duplex>();

export function handleClientError(err: Error & { code?: string }, socket: Duplex, logger: Logger): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  if (answering.has(socket)) return;
  answering.add(socket);
  const requestId = randomUUID();
  logger.debug({ code: err.code, requestId }, 'client error');
  const http = socket as HttpSocket;
  const incoming = http.parser?.incoming;
  if (incoming !== null && incoming !== undefined && !incoming.complete) {
    // The error is inside the body of a request being answered: that request is broken, and the response in progress
    // (if any) is its own, so an error status is still right only before that response has started.
    const current = http._httpMessage;
    if (current === null || current === undefined || (!current.headersSent && current.req === (incoming as unknown))) socket.end(errorResponse(err.code, requestId));
    else socket.destroy();
    return;
  }
  afterResponsesInProgress(http, () => {
    if (socket.writable) socket.end(errorResponse(err.code, requestId));
    else socket.destroy();
  });
}

/** Runs `then` once no response is being written on the socket (at once when none is). */
function afterResponsesInProgress(socket: HttpSocket, then: () => void): void {
  const current = socket._httpMessage;
  if (current === null || current === undefined) return then();
  let settled = false;
  const next = (): void => {
    if (settled || socket.destroyed) return;
    settled = true;
    // node:http's own 'finish' listener (added first) has by now moved the next queued response onto the socket.
    afterResponsesInProgress(socket, then);
  };
  current.once('finish', next);
  current.once('close', next);
}

function errorResponse(code: string | undefined, requestId: string): string {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return rawErrorResponse(431, 'Request Header Fields Too Large', 'request headers too large', requestId);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return rawErrorResponse(408, 'Request Timeout', 'request header timeout', requestId);
    default:
      return rawErrorResponse(400, 'Bad Request', 'malformed request', requestId);
  }
}

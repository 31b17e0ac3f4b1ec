// Methods the gateway refuses unless told otherwise. TRACE makes a backend echo the request back, credentials and
// cookies included (cross-site tracing), so it is only forwarded on a rule that lists TRACE in its `methods`; a rule
// without `methods` (every method) does not admit it. CONNECT would make the gateway an open tunnel: always refused.
// docs/http-front-door.md.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { TableRoute } from '../table/table-schema.ts';
import { rawErrorResponse, sendError } from './error-response.ts';

/** What a route answering every method allows, TRACE and CONNECT aside (the Allow header of a refused TRACE). */
export const ALLOW_EXCEPT_TRACE = { allow: 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT' };

/** TRACE on a route that does not list it. A string comparison for every other request. */
export function traceRefused(method: string, route: TableRoute): boolean {
  return method === 'TRACE' && !route.methods.includes('TRACE');
}

/**
 * The server's 'connect' event: 405 and close. node:http passes the raw socket (HTTP/1.1); node:http2's compatibility
 * API passes a response instead (an HTTP/2 CONNECT stream), which gets the same JSON answer.
 */
export function refuseConnect(logger: Logger): (req: IncomingMessage, socketOrResponse: Duplex | ServerResponse) => void {
  return (req, socketOrResponse) => {
    const requestId = randomUUID();
    logger.debug({ requestId, target: req.url }, 'CONNECT refused');
    if ('writeHead' in socketOrResponse) {
      sendError(socketOrResponse, 405, 'method not allowed', requestId, ALLOW_EXCEPT_TRACE);
      return;
    }
    socketOrResponse.on('error', () => socketOrResponse.destroy());
    socketOrResponse.end(rawErrorResponse(405, 'Method Not Allowed', 'method not allowed', requestId, ALLOW_EXCEPT_TRACE));
  };
}

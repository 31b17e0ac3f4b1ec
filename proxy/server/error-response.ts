// Every error the gateway itself answers with: a small JSON body naming the error and the request id.
import type { GatewayResponse } from './gateway-request.ts';

/** Returns the body's length in bytes (0 when the response had already started and is cut instead). */
/** `errors`: what exactly was wrong (request validation's list), as the body's `errors` field. */
export function sendError(res: GatewayResponse, status: number, error: string, requestId: string, extra?: Record<string, string>, errors?: readonly unknown[]): number {
  if (res.headersSent) {
    // Too late for a status: cutting the connection is the only way to tell the client the body is incomplete.
    res.destroy();
    return 0;
  }
  const body = JSON.stringify(errors === undefined ? { error, requestId } : { error, requestId, errors });
  const length = Buffer.byteLength(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': length,
    'x-request-id': requestId,
    'cache-control': 'no-store',
  };
  if (extra !== undefined) {
    Object.assign(headers, extra);
    // HTTP/2 has no Connection header (RFC 9113 §8.2.2; Node refuses it). Its "stop sending the body" is Node's own:
    // a response ended before the request's body is answered by RST_STREAM(NO_ERROR), which closes only this stream.
    if (res.req.httpVersionMajor === 2) delete headers.connection;
  }
  res.writeHead(status, headers);
  res.end(body);
  return length;
}

/** The raw HTTP/1.1 bytes of an error response, for sockets the HTTP server has given up on (parse errors). */
export function rawErrorResponse(status: number, reason: string, error: string, requestId: string, extra?: Record<string, string>): string {
  const body = JSON.stringify({ error, requestId });
  let lines = '';
  if (extra !== undefined) for (const name in extra) lines += `${name}: ${extra[name]}\r\n`;
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\ncache-control: no-store\r\n${lines}connection: close\r\n\r\n${body}`
  );
}

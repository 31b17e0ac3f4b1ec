// Answers written straight to an upgrade request's socket (there is no ServerResponse for an 'upgrade' event): the
// gateway's JSON errors, and the 101 relayed from the upstream in plain mode. Header names and values are checked as
// ServerResponse would, so nothing from a table or an upstream can split the response.
import { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HeaderBag } from '../forward/header-changes.ts';

function headerLines(headers: HeaderBag): string {
  let out = '';
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      validateHeaderName(name);
      validateHeaderValue(name, v);
      out += `${name}: ${v}\r\n`;
    }
  }
  return out;
}

/** The usual JSON error body (error-response.ts) and `connection: close`; returns the body's length. */
export function writeRawError(socket: Duplex, status: number, error: string, requestId: string, extra?: Record<string, string>): number {
  const body = JSON.stringify({ error, requestId });
  const length = Buffer.byteLength(body);
  const headers: HeaderBag = { 'content-type': 'application/json', 'content-length': String(length), 'x-request-id': requestId, 'cache-control': 'no-store', ...extra, connection: 'close' };
  let head: string;
  try {
    head = headerLines(headers);
  } catch {
    // A policy header Node refuses: answer without the extras rather than not at all.
    head = headerLines({ 'content-type': 'application/json', 'content-length': String(length), 'x-request-id': requestId, connection: 'close' });
  }
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n${body}`);
  else socket.destroy();
  return length;
}

/** The 101 in plain mode: the upstream's own (its Sec-WebSocket-Accept, protocol and extensions) with the gateway's additions. */
export function switchingProtocols(headers: HeaderBag): string {
  return `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n${headerLines(headers)}\r\n`;
}

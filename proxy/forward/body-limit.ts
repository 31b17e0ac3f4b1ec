// Streams a request body to undici while counting it, so a body without a Content-Length still cannot exceed
// the route's limit. An iterable (not the request stream itself) keeps undici from destroying the client's
// socket when the upstream fails, so the gateway can still answer with an error.
import type { IncomingMessage } from 'node:http';
import { BodyTooLargeError } from './upstream-errors.ts';

/** The bytes of a request body read so far (for the access log). */
export interface BodyCount {
  bytes: number;
}

export async function* limitedBody(req: IncomingMessage, maxBytes: number, count: BodyCount): AsyncGenerator<Buffer, void, undefined> {
  // destroyOnReturn: false — stopping early must not tear down the client connection we still answer on.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    count.bytes += chunk.length;
    if (count.bytes > maxBytes) throw new BodyTooLargeError(maxBytes);
    yield chunk;
  }
}

/** Whether the request carries a body at all (Content-Length > 0 or any Transfer-Encoding). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

// Streams a request body to undici while counting it, so a body without a Content-Length still cannot exceed
// the route's limit. An iterable (not the request stream itself) keeps undici from destroying the client's
// socket when the upstream fails, so the gateway can still answer with an error.
import type { GatewayRequest } from '../server/gateway-request.ts';
import { BodyTooLargeError } from './upstream-errors.ts';

/** The bytes of a request body read so far (for the access log). */
export interface BodyCount {
  bytes: number;
}

export async function* limitedBody(req: GatewayRequest, maxBytes: number, count: BodyCount): AsyncGenerator<Buffer, void, undefined> {
  // destroyOnReturn: false — stopping early must not tear down the client connection we still answer on.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    count.bytes += chunk.length;
    if (count.bytes > maxBytes) throw new BodyTooLargeError(maxBytes);
    yield chunk;
  }
}

/**
 * Whether the request carries a body at all: Content-Length > 0, any Transfer-Encoding, or (HTTP/2, which has no
 * Transfer-Encoding) a stream its HEADERS frame did not end.
 */
export function hasRequestBody(req: GatewayRequest): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const stream = req.stream;
  return stream !== undefined && !stream.endAfterHeaders;
}

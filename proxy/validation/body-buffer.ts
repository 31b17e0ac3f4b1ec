// Reads a whole request body into memory, bounded by the route's limit and a deadline, for validation. The bytes are
// kept exactly as received (the same Buffer is sent upstream). Listening for 'data' starts the flow only now: until
// then the body waited in the socket while authorization and rate limits ran.
import type { GatewayRequest } from '../server/gateway-request.ts';

export type BodyRead =
  | { kind: 'body'; body: Buffer }
  /** More than the limit arrived; the rest is left unread (the answer closes the connection). */
  | { kind: 'too-large' }
  | { kind: 'timeout' }
  /** The client went away before the body ended. */
  | { kind: 'aborted' };

export function readBody(req: GatewayRequest, maxBytes: number, timeoutMs: number, done: (read: BodyRead) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (read: BodyRead): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
    done(read);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > maxBytes) {
      req.pause();
      finish({ kind: 'too-large' });
    } else {
      chunks.push(chunk);
    }
  };
  const onEnd = (): void => finish({ kind: 'body', body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) });
  // After 'end' this is a no-op; before it, the client reset or went away.
  const onClose = (): void => finish({ kind: 'aborted' });
  const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('close', onClose);
}

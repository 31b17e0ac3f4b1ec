// Reads a whole request body into memory, bounded by the route's limit and a deadline, for validation. The bytes are
// kept exactly as received (the same Buffer is sent upstream). Listening for 'data' starts the flow only now: until
// then the body waited in the socket while authorization and rate limits ran.
import type { GatewayRequest } from '../server/gateway-request.ts';
import { watchBodyTimeout } from '../server/client-timeouts.ts';

export type BodyRead =
  | { kind: 'body'; body: Buffer }
  /** More than the limit arrived; the rest is left unread (the answer closes the connection). */
  | { kind: 'too-large' }
  /** The client paused longer than the body timeout (--client-body-timeout), as for a streamed body. */
  | { kind: 'timeout' }
  /** The client went away before the body ended. */
  | { kind: 'aborted' };

/** `idleMs`: the longest pause between two reads of the body (0: none). */
export function readBody(req: GatewayRequest, maxBytes: number, idleMs: number, done: (read: BodyRead) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (read: BodyRead): void => {
    if (finished) return;
    finished = true;
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
  // Node's socket idle timer does the counting: no timer of our own per request.
  watchBodyTimeout(req, idleMs, () => finish({ kind: 'timeout' }));
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('close', onClose);
}

// Sends decision requests to the authorizer service over one kept-alive undici Pool. One deadline covers the
// whole exchange (queueing, connect, headers and body), the answer's body is read up to a bound, and every
// failure comes back as a value: nothing the service does can reject into the caller or crash the process.
import type { Pool } from 'undici';
import { undiciPackage } from '../../runtime/on-demand-packages.ts';
import { trustContext } from '../../runtime/upstream-tls.ts';

/** An answer larger than this is not a decision (a misrouted page, a misbehaving service): it is refused unread. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** Concurrent connections to the service; beyond it calls queue inside the pool, still under their deadline. */
const CONNECTIONS = 64;

/** `cause` is safe to log: it never holds the request or the answer's content. */
export type Reply = { ok: true; status: number; body: Buffer } | { ok: false; cause: string };

const TIMED_OUT = new Error('decision timeout');

export class DecisionClient {
  readonly #pool: Pool | null;
  readonly #path: string;
  readonly #timeoutMs: number;

  constructor(url: string, timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    let pool: Pool | null = null;
    let path = '/';
    try {
      const target = new URL(url);
      if (target.protocol === 'http:' || target.protocol === 'https:') {
        // https: the system CAs as backends have them (upstream-tls.ts).
        const tls = target.protocol === 'https:' ? { secureContext: trustContext(undefined) } : {};
        pool = new (undiciPackage().Pool)(target.origin, { connections: CONNECTIONS, connect: { timeout: timeoutMs, ...tls } });
        path = target.pathname + target.search;
      }
    } catch {
      pool = null;
    }
    // An unusable URL makes every call fail (and the authorizer fail closed) rather than the table build throw.
    this.#pool = pool;
    this.#path = path;
  }

  async ask(body: string, requestId: string): Promise<Reply> {
    const pool = this.#pool;
    if (pool === null) return { ok: false, cause: 'unusable url' };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(TIMED_OUT), this.#timeoutMs);
    try {
      const res = await pool.request({
        path: this.#path,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-request-id': requestId },
        body,
        signal: abort.signal,
      });
      const length = Number(res.headers['content-length']);
      if (length > MAX_ANSWER_BYTES) {
        res.body.destroy();
        return { ok: false, cause: 'answer too large' };
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          res.body.destroy();
          return { ok: false, cause: 'answer too large' };
        }
        chunks.push(chunk);
      }
      return { ok: true, status: res.statusCode, body: Buffer.concat(chunks, size) };
    } catch (err) {
      if (abort.signal.aborted) return { ok: false, cause: 'timeout' };
      return { ok: false, cause: causeOf(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lets the calls already running finish (each within its deadline), then closes the connections. */
  close(): void {
    this.#pool?.close().catch(() => {});
  }
}

function causeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'request failed';
}

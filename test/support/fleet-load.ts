// Closed-loop HTTP load spread over several gateway processes on 127.0.0.1, for rate-limit accuracy tests: `inFlight`
// workers, each bound to one target (round robin) and sending one request after another over keep-alive undici Pools,
// until a deadline (and a request count: every loop is bounded in both). One record per request, timed with the wall
// clock (Date.now(), the clock the proxies use for quota windows): a proxy decided the request at some instant between
// `sentMs` and `receivedMs`.
//
//   const run = await driveLoad({ ports: [p1, p2, p3], path: '/global', inFlight: 30, durationMs: 5_000 });
//   run.samples.filter((s) => s.status === 200).length
import { Pool } from 'undici';

export interface LoadSample {
  /** Index into `ports` of the proxy that answered. */
  target: number;
  /** Date.now() just before the request was handed to the pool. */
  sentMs: number;
  /** Date.now() once the whole body was read (or the request failed). */
  receivedMs: number;
  /** 0 when the request failed without an answer (`error` says why). */
  status: number;
  ratelimit?: string;
  retryAfter?: string;
  error?: string;
}

export interface LoadOptions {
  ports: readonly number[];
  path: string;
  headers?: Record<string, string>;
  /** Requests in flight at once, over all targets. */
  inFlight: number;
  /** Workers send no new request after this long (the last ones may end up to one request later). */
  durationMs: number;
  /** Bound on each request, headers and body (default 5 s). */
  requestTimeoutMs?: number;
  /** Bound on the number of requests (default 1,000,000). */
  maxRequests?: number;
}

export interface LoadRun {
  /** Date.now() when the first worker started. */
  startMs: number;
  /** The deadline: no request was sent at or after it. */
  deadlineMs: number;
  /** Date.now() when the last worker finished. */
  endMs: number;
  samples: LoadSample[];
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

export async function driveLoad(opts: LoadOptions): Promise<LoadRun> {
  if (opts.ports.length === 0 || opts.inFlight < 1) throw new Error('driveLoad: no targets or no workers');
  const timeoutMs = opts.requestTimeoutMs ?? 5_000;
  const maxRequests = opts.maxRequests ?? 1_000_000;
  const perTarget = Math.ceil(opts.inFlight / opts.ports.length);
  const pools = opts.ports.map((port) => new Pool(`http://127.0.0.1:${port}`, { connections: perTarget, pipelining: 1, keepAliveTimeout: 30_000 }));
  const samples: LoadSample[] = [];
  const startMs = Date.now();
  const deadlineMs = startMs + opts.durationMs;
  let sent = 0;
  const worker = async (w: number): Promise<void> => {
    const target = w % pools.length;
    const pool = pools[target] as Pool;
    while (sent < maxRequests) {
      const sentMs = Date.now();
      if (sentMs >= deadlineMs) return;
      sent++;
      try {
        const res = await pool.request({ path: opts.path, method: 'GET', headers: opts.headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
        await res.body.dump();
        samples.push({
          target,
          sentMs,
          receivedMs: Date.now(),
          status: res.statusCode,
          ratelimit: headerText(res.headers.ratelimit),
          retryAfter: headerText(res.headers['retry-after']),
        });
      } catch (err) {
        samples.push({ target, sentMs, receivedMs: Date.now(), status: 0, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.inFlight }, (_, w) => worker(w)));
  } finally {
    await Promise.all(pools.map((p) => p.destroy()));
  }
  return { startMs, deadlineMs, endMs: Date.now(), samples };
}

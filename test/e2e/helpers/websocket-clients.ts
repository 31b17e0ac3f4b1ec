// A `ws` client for the gateway tests: open through the gateway and see either the open socket or the HTTP answer
// that refused it; read messages and the close in order, each wait bounded.
import type { IncomingHttpHeaders } from 'node:http';
import WebSocket, { type ClientOptions } from 'ws';

export type Opened =
  | { ok: true; ws: WebSocket; headers: IncomingHttpHeaders; closed: Promise<{ code: number; reason: string }>; messages: Inbox }
  | { ok: false; status: number; headers: IncomingHttpHeaders; body: string };

export interface OpenOptions extends ClientOptions {
  protocols?: string[];
}

/** Messages as they arrive; `next()` waits (bounded) for the next one. */
export class Inbox {
  readonly #queue: Array<{ data: Buffer; isBinary: boolean }> = [];
  #waiter: (() => void) | null = null;

  constructor(ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      this.#queue.push({ data: data as Buffer, isBinary });
      this.#waiter?.();
    });
  }

  async next(timeoutMs = 10_000): Promise<{ data: Buffer; isBinary: boolean }> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          this.#waiter = null;
          resolve();
        };
      });
    }
    return this.#queue.shift()!;
  }
}

export function openWs(port: number, path: string, opts: OpenOptions = {}): Promise<Opened> {
  const { protocols, ...options } = opts;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols ?? [], { handshakeTimeout: 15_000, ...options });
    const messages = new Inbox(ws);
    const closed = new Promise<{ code: number; reason: string }>((res) => ws.once('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.on('error', () => {});
    ws.once('upgrade', (res) => {
      ws.once('open', () => resolve({ ok: true, ws, headers: res.headers, closed, messages }));
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ok: false, status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Opened or fail the test with what came back instead. */
export async function mustOpen(port: number, path: string, opts: OpenOptions = {}): Promise<Extract<Opened, { ok: true }>> {
  const r = await openWs(port, path, opts);
  if (!r.ok) throw new Error(`upgrade refused: ${r.status} ${r.body}`);
  r.ws.on('error', () => {});
  return r;
}

/** Refused, with the JSON body parsed. */
export async function mustRefuse(port: number, path: string, opts: OpenOptions = {}): Promise<{ status: number; headers: IncomingHttpHeaders; json: { error: string; requestId: string } }> {
  const r = await openWs(port, path, opts);
  if (r.ok) {
    r.ws.terminate();
    throw new Error('upgraded, expected a refusal');
  }
  return { status: r.status, headers: r.headers, json: JSON.parse(r.body) as { error: string; requestId: string } };
}

/** Waits (bounded) for a promise, failing with `what`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// The WebSocket benchmark's load generator, as its own process pinned to the load core: N connections, each keeping
// `window` messages of `size` bytes in flight and sending the next one when an echo comes back, for warmup + duration
// seconds. Counts the round trips completed in the measured window and their latency (send → echo).
// Prints one JSON line per phase on stdout: {"phase":"measure"} when the measured window starts, {"phase":"end"} when
// it ends, then {"phase":"result", …}. Usage:
//   node bench/websocket-load.ts --url ws://127.0.0.1:N/path --connections 50 --window 16 --size 1024 --warmup 3 --duration 10
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { percentile, round1 } from './percentiles.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    connections: { type: 'string', default: '50' },
    window: { type: 'string', default: '16' },
    size: { type: 'string', default: '1024' },
    warmup: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
  },
});
if (values.url === undefined) throw new Error('usage: --url ws://… [--connections N] [--window N] [--size BYTES] [--warmup S] [--duration S]');
const url = values.url;
const connections = Number(values.connections);
const window = Number(values.window);
const payload = randomBytes(Number(values.size));
const warmupMs = Number(values.warmup) * 1000;
const durationMs = Number(values.duration) * 1000;
const OPEN_TIMEOUT_MS = 10_000;
const DRAIN_TIMEOUT_MS = 5_000;
/** Latency samples kept (every round trip up to this many; a 10 s run at 50k msg/s fits). */
const MAX_SAMPLES = 2_000_000;

const say = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

let errors = 0;
let unexpectedCloses = 0;
let badEchoes = 0;
let sending = true;
let measuring = false;
let counted = 0;
let inFlight = 0;
const samples = new Float64Array(MAX_SAMPLES);
let sampleCount = 0;

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const timeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);

const sockets = await timeout(Promise.all(Array.from({ length: connections }, open)), OPEN_TIMEOUT_MS, `opening ${connections} connections to ${url}`);
let closing = false;

for (const ws of sockets) {
  // Echoes come back in order on a connection, so the send times are a FIFO.
  const sentAt: number[] = [];
  let head = 0;
  const sendOne = (): void => {
    sentAt.push(performance.now());
    inFlight++;
    ws.send(payload, { binary: true });
  };
  ws.on('message', (data: Buffer) => {
    const t0 = sentAt[head++] ?? Number.NaN;
    if (head > 4096) {
      sentAt.splice(0, head);
      head = 0;
    }
    inFlight--;
    if (data.length !== payload.length) badEchoes++;
    if (measuring) {
      counted++;
      if (sampleCount < MAX_SAMPLES) samples[sampleCount++] = performance.now() - t0;
    }
    if (sending) sendOne();
  });
  ws.on('error', () => errors++);
  ws.on('close', () => {
    if (!closing) unexpectedCloses++;
  });
  for (let i = 0; i < window; i++) sendOne();
}

await new Promise((r) => setTimeout(r, warmupMs));
measuring = true;
const start = performance.now();
say({ phase: 'measure' });
await new Promise((r) => setTimeout(r, durationMs));
measuring = false;
const seconds = (performance.now() - start) / 1000;
sending = false;
say({ phase: 'end' });

// Let the messages in flight come back (bounded), then close.
const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
while (inFlight > 0 && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
const lost = inFlight;
closing = true;
await timeout(
  Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(1000, 'done');
        }),
    ),
  ),
  DRAIN_TIMEOUT_MS,
  'closing',
).catch(() => {
  for (const ws of sockets) ws.terminate();
});

const sorted = Array.from(samples.subarray(0, sampleCount)).sort((a, b) => a - b);
say({
  phase: 'result',
  messages: counted,
  seconds,
  messagesPerSecond: counted / seconds,
  p50Ms: round1(percentile(sorted, 50)),
  p99Ms: round1(percentile(sorted, 99)),
  errors,
  unexpectedCloses,
  badEchoes,
  lost,
});
process.exit(0);

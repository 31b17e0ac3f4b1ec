// The WebSocket benchmark's idle clients, as their own process pinned to the load core: opens N connections
// (`concurrency` handshakes at a time), reports, holds them without traffic until SIGUSR2 (or --hold seconds), closes
// them all (1000) and reports again. One JSON line per phase on stdout:
//   {"phase":"open","opened":N,"failed":F,"ms":…}   {"phase":"closed","closed":N,"ms":…}
// Usage: node bench/websocket-idle-clients.ts --url ws://127.0.0.1:N/path --connections 10000 [--concurrency 200]
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    connections: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
    'open-timeout': { type: 'string', default: '180' },
    hold: { type: 'string', default: '300' },
  },
});
if (values.url === undefined) throw new Error('usage: --url ws://… [--connections N] [--concurrency N] [--open-timeout S] [--hold S]');
const url = values.url;
const total = Number(values.connections);
const concurrency = Number(values.concurrency);
const openDeadline = Date.now() + Number(values['open-timeout']) * 1000;
const HANDSHAKE_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 30_000;

const say = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const sockets: WebSocket[] = [];
let failed = 0;
let closedEarly = 0;
let firstError = '';
let next = 0;

function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    ws.once('open', () => {
      sockets.push(ws);
      ws.once('close', () => closedEarly++);
      resolve();
    });
    ws.once('error', (err) => {
      failed++;
      if (firstError === '') firstError = String(err);
      resolve();
    });
  });
}

async function worker(): Promise<void> {
  while (next < total && Date.now() < openDeadline) {
    next++;
    await openOne();
  }
}

const t0 = Date.now();
await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
say({ phase: 'open', opened: sockets.length, failed, firstError, ms: Date.now() - t0 });

await new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, Number(values.hold) * 1000);
  process.once('SIGUSR2', () => {
    clearTimeout(timer);
    resolve();
  });
});

const t1 = Date.now();
const early = closedEarly;
let closed = 0;
await Promise.race([
  Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.removeAllListeners('close');
          if (ws.readyState === WebSocket.CLOSED) {
            closed++;
            return resolve();
          }
          ws.once('close', () => {
            closed++;
            resolve();
          });
          ws.once('error', () => resolve());
          ws.close(1000, 'done');
        }),
    ),
  ),
  new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS).unref()),
]);
for (const ws of sockets) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
say({ phase: 'closed', closed, closedWhileHeld: early, ms: Date.now() - t1 });
process.exit(0);

// The WebSocket benchmark's upstream, as its own process pinned to the load core: a `ws` server that echoes every
// message back as it came (text or binary), no compression. Usage: node bench/websocket-echo-upstream.ts --port N
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({ options: { port: { type: 'string' } } });
if (values.port === undefined) throw new Error('usage: --port N');

const server = new WebSocketServer({ host: '127.0.0.1', port: Number(values.port), perMessageDeflate: false, backlog: 4096 });
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
server.on('listening', () => console.log(`echo upstream on ${values.port}`));
// With --expose-gc, SIGUSR2 runs a full collection (the bench does so before reading RSS; see bench/gateway-process.ts).
const gc = (globalThis as { gc?: () => void }).gc;
if (gc !== undefined) process.on('SIGUSR2', () => gc());
process.once('SIGTERM', () => {
  for (const ws of server.clients) ws.terminate();
  server.close(() => process.exit(0));
});

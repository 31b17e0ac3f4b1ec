// The collector of the tracing cases: takes OTLP/HTTP exports (POST, any path), reads and drops each body, answers
// 200 `{}` as a collector does, and counts exports and bytes (GET /stats) so the bench can show the spans were sent.
// Its own process, pinned to the load core, so accepting the spans never takes CPU from the proxy being measured.
// Usage: node bench/otlp-sink.ts --port N
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { LOOPBACK } from './ports.ts';

const { values } = parseArgs({ options: { port: { type: 'string' } } });
if (values.port === undefined) throw new Error('usage: --port N');

let exports = 0;
let bytes = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ exports, bytes }));
    return;
  }
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    exports++;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}');
  });
});
server.listen(Number(values.port), LOOPBACK);
process.once('SIGTERM', () => server.close(() => process.exit(0)));

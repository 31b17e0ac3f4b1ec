// The baseline the gateway is measured against: the least a Node.js proxy can do. A node:http
// server forwards every request to one upstream through an undici Pool and streams the answer
// back. No routing, no policies, only hop-by-hop headers removed (HTTP requires that).
// Usage: node bench/baselines/bare-undici-proxy.ts --port 8081 --upstream http://127.0.0.1:8080
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

const { values } = parseArgs({ options: { port: { type: 'string' }, upstream: { type: 'string' } } });
if (values.port === undefined || values.upstream === undefined) throw new Error('usage: --port N --upstream URL');

const pool = new Pool(values.upstream, { connections: 64, pipelining: 1 });

const server = createServer((req, res) => {
  const headers = withoutHopByHop(req.headers);
  if (req.headers.host !== undefined) headers.host = req.headers.host;
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool.stream(
    {
      path: req.url ?? '/',
      method: req.method as 'GET',
      headers: headers as Record<string, string>,
      body: hasBody ? req : null,
    },
    ({ statusCode, headers: upstreamHeaders }) => {
      res.writeHead(statusCode, withoutHopByHop(upstreamHeaders));
      return res;
    },
    (err) => {
      if (err === null) return;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"bad gateway"}');
      else res.destroy(err);
    },
  );
});
server.keepAliveTimeout = 120_000;
server.listen(Number(values.port), '127.0.0.1');

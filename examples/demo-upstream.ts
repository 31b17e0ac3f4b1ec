// The demo backends `npm start` runs beside the gateway, so the examples answer at once (and, for the authorizer
// examples, a demo token issuer and a demo decision service).
// Each replies with what it received, which makes routing, rewrites and header changes visible; WebSocket messages
// come back prefixed with the service's name (examples/chat.yaml).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { WebSocketServer } from 'ws';
import { startDemoDecisionService } from './demo-decision-service.ts';
import { startDemoIssuer } from './demo-issuer.ts';

export interface DemoUpstream {
  name: string;
  port: number;
}

export const DEMO_UPSTREAMS: DemoUpstream[] = [
  { name: 'pets-v1', port: 9101 },
  { name: 'pets-v2', port: 9102 },
];

const SHOWN_HEADERS = ['x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-api-stage', 'x-gateway', 'cookie', 'x-consumer', 'x-tenant', 'x-user'];

function pickHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const name of SHOWN_HEADERS) {
    const value = headers[name];
    if (value !== undefined) shown[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return shown;
}

export async function startDemoUpstreams(host = '127.0.0.1'): Promise<{ close: () => Promise<void> }> {
  const servers: Server[] = [];
  const closers: Array<() => Promise<void>> = [];
  for (const up of DEMO_UPSTREAMS) {
    const server = createServer((req, res) => {
      let size = 0;
      req.on('data', (chunk: Buffer) => (size += chunk.length));
      req.on('end', () => {
        const body = JSON.stringify({
          service: up.name,
          method: req.method,
          path: req.url,
          host: req.headers.host,
          // Only the headers the gateway adds or changes, so the demo output stays readable.
          headers: pickHeaders(req.headers),
          bodyBytes: size,
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    const sockets = new WebSocketServer({ server, perMessageDeflate: true, handleProtocols: (offered) => [...offered][0] ?? false });
    sockets.on('connection', (ws, req) => {
      ws.on('error', () => {});
      ws.send(JSON.stringify({ service: up.name, path: req.url, headers: pickHeaders(req.headers) }));
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${up.name}: ${data.toString()}`, { binary: isBinary }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(up.port, host, resolve);
    });
    servers.push(server);
    closers.push(() => new Promise<void>((r) => sockets.close(() => r())));
  }
  // The example authorizers' counterparts (examples/secure-pets.yaml): a token issuer and a decision service.
  servers.push(await startDemoIssuer(host), await startDemoDecisionService(host));
  return {
    close: async () => {
      await Promise.all(closers.map((c) => c()));
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

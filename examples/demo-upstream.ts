// The demo backends `npm start` runs beside the gateway, so the examples answer at once.
// Each replies with what it received, which makes routing, rewrites and header changes visible.
import { createServer, type Server } from 'node:http';

export interface DemoUpstream {
  name: string;
  port: number;
}

export const DEMO_UPSTREAMS: DemoUpstream[] = [
  { name: 'pets-v1', port: 9101 },
  { name: 'pets-v2', port: 9102 },
];

export async function startDemoUpstreams(host = '127.0.0.1'): Promise<{ close: () => Promise<void> }> {
  const servers: Server[] = [];
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
          requestId: req.headers['x-request-id'],
          forwardedFor: req.headers['x-forwarded-for'],
          bodyBytes: size,
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(up.port, host, resolve);
    });
    servers.push(server);
  }
  return {
    close: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

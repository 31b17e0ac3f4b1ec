// The admin port, apart from traffic: liveness, readiness (a table is loaded) and Prometheus metrics.
// The controller serves the same port with its own readiness and a few read-only extra pages.
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { writeChunks } from './response-chunks.ts';

export interface AdminDeps {
  registry: Registry;
  /** The version being served, undefined until a table is loaded. */
  servedVersion: () => string | undefined;
  logger: Logger;
  /** Degraded states that do not fail readiness, appended to the /readyz answer (e.g. Redis unavailable). */
  readinessNotes?: () => string[];
  /** A reason readiness fails whatever else holds (a shutdown under way), or undefined. */
  notReady?: () => string | undefined;
  /** Overrides the default readiness (a table is loaded), e.g. the controller's "informers synced and compiled". */
  readiness?: () => { ready: boolean; detail: string };
  /** Read-only pages by exact path (GET/HEAD only), e.g. the controller's /debug/table. */
  extraRoutes?: Record<string, () => AdminPage>;
}

export interface AdminPage {
  status: number;
  contentType: string;
  /** A large page comes as chunks, pulled one at a time as the client reads (response-chunks.ts). */
  body: string | Iterable<Buffer>;
}

export function createAdminServer(deps: AdminDeps): Server {
  const server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const unready = path === '/readyz' ? deps.notReady?.() : undefined;
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (unready !== undefined) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${unready}\n`);
    } else if (path === '/readyz' && deps.readiness) {
      const { ready, detail } = deps.readiness();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(`${ready ? 'ok' : 'not ready'}: ${detail}\n`);
    } else if (path !== undefined && deps.extraRoutes && Object.hasOwn(deps.extraRoutes, path)) {
      const page = (deps.extraRoutes[path] as () => AdminPage)();
      res.writeHead(page.status, { 'content-type': page.contentType });
      if (typeof page.body === 'string') res.end(page.body);
      else if (req.method === 'HEAD') res.end();
      else {
        writeChunks(res, page.body).catch((err: unknown) => {
          deps.logger.error({ err, path }, 'writing an admin page failed');
          res.destroy();
        });
      }
    } else if (path === '/readyz') {
      const version = deps.servedVersion();
      if (version === undefined) res.writeHead(503, { 'content-type': 'text/plain' }).end('no routing table loaded\n');
      else {
        const notes = deps.readinessNotes?.() ?? [];
        res.writeHead(200, { 'content-type': 'text/plain' }).end(notes.length === 0 ? `ok ${version}\n` : `ok ${version}; ${notes.join('; ')}\n`);
      }
    } else if (path === '/metrics') {
      deps.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': deps.registry.contentType }).end(text),
        (err: unknown) => {
          deps.logger.error({ err }, 'collecting metrics failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}

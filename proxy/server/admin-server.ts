// The admin port, apart from traffic: liveness, readiness (a table is loaded) and Prometheus metrics, all read-only
// and open; and actions that change state (the proxy's cache purge), POST only, each behind the bearer token of
// --admin-token-file: without a token file they answer 403 (fail closed), with a missing or wrong token 401.
// The controller serves the same port with its own readiness and a few read-only extra pages.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { writeChunks } from './response-chunks.ts';
import type { AdminToken } from './admin-token.ts';

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
  /** State-changing endpoints by exact path (POST, a JSON body), e.g. the proxy's /cache/purge. */
  actions?: Record<string, AdminAction>;
  /** Guards `actions`; null: they answer 403. */
  token?: AdminToken | null;
}

/** Given the request's JSON body: the status and the JSON answer. */
export type AdminAction = (body: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

/** Largest action body read. */
const MAX_ACTION_BODY = 16 * 1024;

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
    const action = path !== undefined && deps.actions !== undefined && Object.hasOwn(deps.actions, path) ? (deps.actions[path] as AdminAction) : undefined;
    if (action !== undefined) {
      runAction(req, res, action, deps.token ?? null).catch((err: unknown) => {
        deps.logger.error({ err, path }, 'admin action failed');
        if (!res.headersSent) answerJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
      return;
    }
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

async function runAction(req: IncomingMessage, res: ServerResponse, action: AdminAction, token: AdminToken | null): Promise<void> {
  if (req.method !== 'POST') {
    req.resume();
    return answerJson(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
  }
  if (token === null) {
    req.resume();
    return answerJson(res, 403, { error: 'admin actions are disabled: start the proxy with --admin-token-file' });
  }
  const check = await token.check(req.headers.authorization);
  if (check !== 'ok') {
    req.resume();
    if (check === 'unavailable') return answerJson(res, 503, { error: 'the admin token file cannot be read' });
    return answerJson(res, 401, { error: check === 'missing' ? 'a bearer token is required' : 'invalid token' }, { 'www-authenticate': 'Bearer' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ACTION_BODY) return answerJson(res, 413, { error: 'body too large' }, { connection: 'close' });
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = size === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return answerJson(res, 400, { error: 'the body is not JSON' });
  }
  const answer = await action(body);
  answerJson(res, answer.status, answer.body);
}

function answerJson(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(`${JSON.stringify(body)}\n`);
}

// A WebSocket upgrade request, from the 'upgrade' event to an open connection or a JSON error on the raw socket. The
// handshake is one request of the route: the same router, client IP rules, authorizer and rate limits, the same
// weighted and canary backend choice, the access log and request metrics. Then the rule must enable WebSockets (404
// otherwise), the Origin must be one of the rule's CORS origins when it has some (403), and the upstream must answer
// 101 (502/504 otherwise). Routes with a message limit are parsed (message-relay.ts), the rest piped (socket-pipe.ts).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ExchangeSettings } from '../forward/upstream-dispatch.ts';
import { upstreamRequestHeaders } from '../forward/upstream-request-headers.ts';
import { clientResponseHeaders } from '../forward/upstream-response-headers.ts';
import { nextTraceparent } from '../forward/trace-context.ts';
import type { ClientAddresses } from '../policy/client-ip/client-address.ts';
import { newPolicyContext, type PolicyContext } from '../policy/policy-types.ts';
import { runPolicy } from '../policy/route-policy.ts';
import { wantsCanary } from '../runtime/canary-match.ts';
import type { RuntimeHolder } from '../runtime/runtime-holder.ts';
import type { RouteMetrics, RuntimeRoute } from '../runtime/runtime-types.ts';
import type { MatchResult } from '../router/route-index-types.ts';
import { NO_ROUTE } from '../server/gateway-metrics.ts';
import { requestIdFor } from '../server/request-id.ts';
import type { AccessLogLine } from '../server/request-log.ts';
import { parseRequestTarget, type RequestTarget } from '../server/request-target.ts';
import { requestHost } from '../server/host-header.ts';
import type { TableWebSocket } from '../table/table-schema.ts';
import type { RouteCors } from '../policy/cors/route-cors.ts';
import type { ClientHandshakes } from './client-handshake.ts';
import type { ConnectionRegistry } from './connection-registry.ts';
import type { DeadlineSettings } from './connection-deadlines.ts';
import { switchingProtocols, writeRawError } from './handshake-response.ts';
import { RelayedConnection } from './message-relay.ts';
import { PipedConnection } from './socket-pipe.ts';
import { parsedUpgrade, plainUpgrade, type HandshakeFailure, type UpgradeTarget } from './upstream-handshake.ts';
import type { WebSocketMetrics, WebSocketRouteMetrics } from './websocket-metrics.ts';

export interface UpgradeDeps {
  holder: RuntimeHolder;
  settings: ExchangeSettings;
  addresses: ClientAddresses;
  registry: ConnectionRegistry;
  metrics: WebSocketMetrics;
  clients: ClientHandshakes;
  /** Request metrics of handshakes answered before a route was found. */
  noRoute: RouteMetrics;
}

/** Largest message a parsed route without a size limit takes (ws's default): the gateway holds whole messages. */
const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;
/** Sec-WebSocket-* headers the ws client sets itself in parsed mode (its own key, the offered protocols). */
const WS_OWN = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions'];

/** Whether an upgrade request asks for WebSocket: only those leave the HTTP path (others are plain requests). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && /(^|,)\s*websocket\s*(,|$)/i.test(upgrade);
}

/** One handshake in progress: what its log line and metrics need. */
interface Handshake {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly startedAt: number;
  readonly requestId: string;
  readonly traceparent: string;
  path: string;
  routeId: string;
  metrics: RouteMetrics;
  ws: WebSocketRouteMetrics;
  consumer: string | null;
}

export function createUpgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const noRouteWs = deps.metrics.forRoute(NO_ROUTE);
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const h: Handshake = {
      req,
      socket,
      head,
      startedAt: performance.now(),
      requestId: requestIdFor(req.headers['x-request-id']),
      traceparent: nextTraceparent(req.headers.traceparent),
      path: '',
      routeId: NO_ROUTE,
      metrics: deps.noRoute,
      ws: noRouteWs,
      consumer: null,
    };
    const runtime = deps.holder.current;
    if (runtime === undefined) return refuse(deps, h, 503, 'no routing table loaded');
    if (deps.registry.closing) return refuse(deps, h, 503, 'shutting down');
    const target = parseRequestTarget(req.url ?? '');
    if (target === null) return refuse(deps, h, 400, 'malformed request target');
    h.path = target.path;
    if (req.method !== 'GET') return refuse(deps, h, 400, 'a websocket handshake must be a GET');
    if (req.headers['sec-websocket-version'] !== '13') return refuse(deps, h, 426, 'unsupported websocket version', { 'sec-websocket-version': '13' });
    if (!KEY_RE.test(req.headers['sec-websocket-key'] ?? '')) return refuse(deps, h, 400, 'invalid websocket handshake');
    const host = requestHost(req, target.authority);
    if (typeof host !== 'string') return refuse(deps, h, 400, host.error);
    const match = runtime.index.match({ host, method: 'GET', path: target.path, query: target.query, headers: req.headers });
    if (match.kind === 'not-found') return refuse(deps, h, 404, 'no route');
    if (match.kind === 'method-not-allowed') return refuse(deps, h, 405, 'method not allowed', { allow: match.allow.join(', ') });
    const rr = runtime.routes.get(match.route.id);
    if (rr === undefined) return refuse(deps, h, 404, 'no route');
    h.routeId = rr.route.id;
    h.metrics = rr.metrics;
    h.ws = deps.metrics.forRoute(rr.route.id);
    const settings = rr.route.websocket;
    if (settings === undefined) return refuse(deps, h, 404, 'websocket not enabled on this route');
    if (!originAllowed(rr.cors, req.headers.origin)) return refuse(deps, h, 403, 'origin not allowed');

    const policy = rr.policy;
    if (policy === null) return connect(deps, h, rr, settings, match.params, target, null);
    const ctx = newPolicyContext(req, rr.route.id, h.requestId, 'GET', target, host, deps.addresses.of(req));
    runPolicy(policy, ctx, (denial) => {
      h.consumer = ctx.consumer?.name ?? null;
      if (denial !== null) return refuse(deps, h, denial.status, denial.error, denial.headers);
      if (socket.destroyed) return finishLog(deps, h, 499, null, -1, 'client closed the connection');
      connect(deps, h, rr, settings, match.params, target, ctx);
    });
  };
}

/**
 * The route's CORS origins (the same matcher as its HTTP requests: exact, subdomain wildcard, "*") gate the handshake;
 * "*" admits any Origin or none. A route without CORS admits any, including none (non-browser clients).
 */
function originAllowed(cors: RouteCors | null, origin: string | undefined): boolean {
  if (cors === null || cors.origins.any) return true;
  return origin !== undefined && cors.origins.allows(origin);
}

function connect(
  deps: UpgradeDeps,
  h: Handshake,
  rr: RuntimeRoute,
  settings: TableWebSocket,
  params: Extract<MatchResult, { kind: 'route' }>['params'],
  target: RequestTarget,
  ctx: PolicyContext | null,
): void {
  const { req, socket } = h;
  const picker = rr.canary !== null && wantsCanary(req.headers, rr.canary.trigger) ? rr.canary.picker : rr.primary;
  const backend = picker.pick();
  let endpoint = backend?.next(performance.now());
  if (backend === undefined || endpoint === undefined) return refuse(deps, h, 503, 'no healthy endpoint');

  let path = rr.rewrite === null ? target.path : rr.rewrite(target.path, params);
  if (backend.pathPrefix !== '') path = backend.pathPrefix + path;
  if (target.query !== '') path = `${path}?${target.query}`;
  const headers = upstreamRequestHeaders(
    req,
    h.requestId,
    backend.hostHeader,
    rr.requestHeaders,
    rr.policy?.ownedHeaders ?? null,
    ctx?.upstreamHeaders ?? null,
    h.traceparent,
    rr.route.methods,
    deps.addresses,
  );
  const parsed = settings.maxMessageBytes !== undefined || settings.maxMessagesPerSecond !== undefined;
  if (parsed) for (const name of WS_OWN) delete headers[name];
  const deadlines: DeadlineSettings = { idleMs: settings.idleTimeoutMs, maxDurationMs: settings.maxDurationMs, expiresAt: settings.closeOnExpiry ? expiryOf(ctx) : null };
  const policyHeaders = ctx?.responseHeaders ?? null;
  let retries = rr.route.retries.attempts;
  const dispatchedAt = performance.now();

  const failed = (failure: HandshakeFailure): boolean => {
    const now = performance.now();
    if (failure.ejects) endpoint?.health.connectFailed(now, deps.settings.ejection);
    if (failure.connectFailed && retries > 0) {
      const next = backend.next(now);
      if (next !== undefined) {
        retries--;
        endpoint = next;
        return true;
      }
    }
    refuse(deps, h, failure.status, failure.error, undefined, endpoint?.address ?? null, failure.cause);
    return false;
  };

  let cancel: (() => void) | null = null;
  const clientGone = (): void => {
    cancel?.();
    cancel = null;
    finishLog(deps, h, 499, endpoint?.address ?? null, -1, 'client closed the connection');
  };
  socket.once('close', clientGone);
  const upgradeTarget = (): UpgradeTarget => ({ endpoint: endpoint!, path, headers, timeoutMs: rr.route.timeouts.requestMs });
  /** An attempt's end, either mode: a failure is retried on another endpoint or answered; true when it upgraded. */
  const upgraded = <R extends { ok: true } | ({ ok: false } & HandshakeFailure)>(result: R, retry: () => void): result is Extract<R, { ok: true }> => {
    cancel = null;
    if (!result.ok) {
      if (failed(result)) retry();
      else socket.off('close', clientGone);
      return false;
    }
    socket.off('close', clientGone);
    endpoint!.health.succeeded();
    return true;
  };

  if (!parsed) {
    const attempt = (): void => {
      cancel = plainUpgrade(upgradeTarget(), (result) => {
        if (!upgraded(result, attempt)) return;
        let response: string;
        try {
          response = switchingProtocols(clientResponseHeaders(result.response.headers, h.requestId, rr.responseHeaders, policyHeaders, false));
        } catch {
          result.socket.destroy();
          return refuse(deps, h, 502, 'invalid upstream response', undefined, endpoint!.address, 'invalid header');
        }
        socket.write(response);
        const connection = new PipedConnection({
          route: rr.route,
          client: socket,
          upstream: result.socket,
          clientHead: h.head,
          upstreamHead: result.head,
          deadlines,
          metrics: h.ws,
        });
        opened(deps, h, rr, connection, endpoint!.address, dispatchedAt);
      });
    };
    attempt();
    return;
  }

  const offered = protocolsOffered(req.headers['sec-websocket-protocol']);
  const maxPayload = settings.maxMessageBytes ?? DEFAULT_MAX_PAYLOAD;
  const attempt = (): void => {
    cancel = parsedUpgrade(upgradeTarget(), offered, maxPayload, (result) => {
      if (!upgraded(result, attempt)) return;
      const upstream = result.socket;
      if (socket.destroyed) {
        upstream.terminate();
        return finishLog(deps, h, 499, endpoint!.address, -1, 'client closed the connection');
      }
      const extra = [`x-request-id: ${h.requestId}`, ...(policyHeaders ?? []).map(([n, v]) => `${n}: ${v}`)];
      deps.clients.accept(req, socket, h.head, maxPayload, upstream.protocol === '' ? false : upstream.protocol, extra, (client) => {
        const connection = new RelayedConnection({
          route: rr.route,
          client,
          upstream,
          deadlines,
          metrics: h.ws,
          messagesPerSecond: settings.maxMessagesPerSecond ?? null,
        });
        opened(deps, h, rr, connection, endpoint!.address, dispatchedAt);
      });
    });
  };
  attempt();
}

function opened(deps: UpgradeDeps, h: Handshake, rr: RuntimeRoute, connection: PipedConnection | RelayedConnection, upstream: string, dispatchedAt: number): void {
  deps.registry.add(connection);
  // A table applied during the handshake may already have changed this route: reconcile against the current one.
  const current = deps.holder.current;
  if (current !== undefined && current.routes.get(rr.route.id)?.route !== rr.route) deps.registry.reconcile(current.routes);
  h.ws.handshake(101);
  finishLog(deps, h, 101, upstream, performance.now() - dispatchedAt, null);
}

/** Sec-WebSocket-Protocol values, in the client's order (headers may repeat). */
function protocolsOffered(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** The verified credential's expiry (a JWT's `exp`, seconds since the epoch) in ms; null when it has none. */
function expiryOf(ctx: PolicyContext | null): number | null {
  const exp = ctx?.consumer?.claims.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
}

function refuse(deps: UpgradeDeps, h: Handshake, status: number, error: string, extra?: Record<string, string>, upstream: string | null = null, cause: string | null = null): void {
  const bytesOut = writeRawError(h.socket, status, error, h.requestId, extra);
  h.ws.handshake(status);
  finishLog(deps, h, status, upstream, -1, cause ?? error, bytesOut);
}

function finishLog(deps: UpgradeDeps, h: Handshake, status: number, upstream: string | null, upstreamMs: number, error: string | null, bytesOut = 0): void {
  const endedAt = performance.now();
  // The gateway's own share: the whole handshake less the upstream's (its 101 or its failure).
  const ms = endedAt - h.startedAt;
  h.metrics.requestDone('GET', status, (upstreamMs >= 0 ? Math.max(0, ms - upstreamMs) : ms) / 1000);
  const log = deps.settings.accessLog;
  if (!log.wants(status)) return;
  const line: AccessLogLine = {
    requestId: h.requestId,
    method: 'GET',
    path: h.path,
    route: h.routeId,
    status,
    traceparent: h.traceparent,
    consumer: h.consumer,
    upstream,
    upstreamMs,
    bytesIn: 0,
    bytesOut,
    error,
  };
  log.write(line, h.startedAt, endedAt);
}

// The traffic server: request → route → backend → endpoint → upstream exchange, or a JSON error.
// The runtime is read once per request, so a table swap never changes a request in flight.
import type { Duplex, Readable } from 'node:stream';
import type { Span } from '@opentelemetry/api';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { GatewayRequest, GatewayResponse } from './gateway-request.ts';
import type { RouteMetrics, RuntimeRoute } from '../runtime/runtime-types.ts';
import type { RuntimeHolder } from '../runtime/runtime-holder.ts';
import { wantsCanary } from '../runtime/canary-match.ts';
import { limitedBody, hasRequestBody } from '../forward/body-limit.ts';
import { upstreamRequestHeaders } from '../forward/upstream-request-headers.ts';
import { nextTraceparent } from '../forward/trace-context.ts';
import { ProxyExchange, type ExchangeSettings } from '../forward/upstream-dispatch.ts';
import { handleClientError } from './client-error.ts';
import { isWebSocketUpgrade } from '../websocket/upgrade-handler.ts';
import { sendError } from './error-response.ts';
import { parseRequestTarget } from './request-target.ts';
import { requestHost } from './host-header.ts';
import { supportedVersion } from './http-version.ts';
import { ALLOW_EXCEPT_TRACE, refuseConnect, traceRefused } from './refused-methods.ts';
import { serveExpectations } from './expect-continue.ts';
import { listenerSettings, watchBodyTimeout, type ClientTimeouts } from './client-timeouts.ts';
import { requestIdFor } from './request-id.ts';
import { NO_ROUTE } from './gateway-metrics.ts';
import type { AccessLogLine } from './request-log.ts';
import type { ClientAddresses } from '../policy/client-ip/client-address.ts';
import { newPolicyContext, type PolicyContext } from '../policy/policy-types.ts';
import { runPolicy } from '../policy/route-policy.ts';
import { answerPreflight, isPreflight } from '../policy/cors/cors-preflight.ts';
import { setCorsHeaders } from '../policy/cors/cors-headers.ts';
import type { MatchResult } from '../router/route-index-types.ts';
import type { TableRoute } from '../table/table-schema.ts';
import type { RequestTarget } from './request-target.ts';
import { httpsLocation } from './https-redirect.ts';
import { serveThroughCache } from '../cache/cache-step.ts';
import type { CacheFill } from '../cache/cache-fill.ts';
import { answerRequest } from '../direct/answer-request.ts';
import { validateRequest } from '../validation/request-validator.ts';

export interface GatewayServerDeps {
  holder: RuntimeHolder;
  settings: ExchangeSettings;
  /** Instruments for requests answered before a route was found. */
  noRoute: RouteMetrics;
  /** Who the client is (the socket's peer, or X-Forwarded-For through trusted proxies), for route policies. */
  addresses: ClientAddresses;
  /** WebSocket upgrades (proxy/websocket/upgrade-handler.ts); other upgrade requests are served as plain requests. */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** On the plain listener: routes with an https redirect answer with one to this port. Absent on the TLS listener. */
  httpsRedirectPort?: number;
  /** How long a client may take over its request's headers and between reads of its body (client-timeouts.ts). */
  clientTimeouts: ClientTimeouts;
}

/** Safe to replay on another endpoint when the first never accepted the connection (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const CLOSE = { connection: 'close' };

export function createGatewayServer(deps: GatewayServerDeps): Server {
  const upgrade = deps.upgrade;
  const server = createServer(
    { ...listenerSettings(deps.clientTimeouts), shouldUpgradeCallback: (req) => upgrade !== undefined && isWebSocketUpgrade(req) },
    (req, res) => handleRequest(req, res, deps),
  );
  serveGatewayEvents(server, deps);
  return server;
}

/**
 * The server-level events every traffic listener answers the same way: parser errors, WebSocket upgrades, CONNECT
 * (refused) and Expect (100-continue once the request is admitted).
 */
export function serveGatewayEvents(server: NodeJS.EventEmitter, deps: GatewayServerDeps): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => handleClientError(err, socket, deps.settings.logger));
  if (deps.upgrade !== undefined) server.on('upgrade', deps.upgrade);
  server.on('connect', refuseConnect(deps.settings.logger));
  serveExpectations(server, (req, res, continueFirst) => handleRequest(req, res, deps, continueFirst));
}

function ignore(): void {}

/** `continueFirst`: the client sent Expect: 100-continue and sends its body only once told to (expect-continue.ts). */
export function handleRequest(req: GatewayRequest, res: GatewayResponse, deps: GatewayServerDeps, continueFirst = false): void {
  const startedAt = performance.now();
  const runtime = deps.holder.current;
  // A client resetting mid-request makes these emit 'error'; the exchange learns of it through 'close'.
  req.on('error', ignore);
  res.on('error', ignore);
  const requestId = requestIdFor(req.headers['x-request-id']);
  const method = req.method ?? 'GET';
  const target = parseRequestTarget(req.url ?? '');
  const host = target === null ? '' : requestHost(req, target.authority);
  const hostName = typeof host === 'string' ? host : '';
  // This hop's trace context, made before routing so a refused request's log line carries the trace id too. With span
  // export on, it is the context of the request's span (otlp-tracer.ts); span is null when off or not sampled.
  const tracer = deps.settings.tracer;
  let traceparent: string;
  let span: Span | null = null;
  if (tracer === null) traceparent = nextTraceparent(req.headers.traceparent);
  else ({ traceparent, span } = tracer.start(req.headers.traceparent, method, hostName, startedAt, req.socket.encrypted === true ? 'https' : 'http'));
  const reject = (metrics: RouteMetrics, route: TableRoute | null, path: string, status: number, error: string, extra?: Record<string, string>, consumer: string | null = null): void =>
    rejectRequest(res, deps, { requestId, method, path, route: route?.id ?? NO_ROUTE, status, traceparent, consumer }, metrics, startedAt, error, extra, span, route);

  if (runtime === undefined) return reject(deps.noRoute, null, '', 503, 'no routing table loaded');
  if (!supportedVersion(req)) return reject(deps.noRoute, null, '', 505, 'http version not supported', CLOSE);
  if (target === null) return reject(deps.noRoute, null, '', 400, 'malformed request target');
  if (typeof host !== 'string') return reject(deps.noRoute, null, target.path, 400, host.error);
  if (method === 'OPTIONS' && isPreflight(req)) {
    const p = answerPreflight(runtime, req, res, host, target, requestId, deps.addresses);
    if (p !== null) return recordAnswer(deps, { requestId, method, path: target.path, route: p.route.route.id, status: p.status, traceparent, consumer: null }, p.route.metrics, startedAt, p.error, p.bytesOut, span, p.route.route);
  }
  const match = runtime.index.match({ host, method, path: target.path, query: target.query, headers: req.headers });
  if (match.kind === 'not-found') return reject(deps.noRoute, null, target.path, 404, 'no route');
  if (match.kind === 'method-not-allowed') return reject(deps.noRoute, null, target.path, 405, 'method not allowed', { allow: match.allow.join(', ') });

  const rr = runtime.routes.get(match.route.id);
  if (rr === undefined) return reject(deps.noRoute, null, target.path, 404, 'no route'); // index and routes come from one table
  const route = rr.route;
  if (route.httpsRedirect !== undefined && deps.httpsRedirectPort !== undefined) {
    const location = httpsLocation(host, deps.httpsRedirectPort, target.path, target.query);
    return reject(rr.metrics, route, target.path, route.httpsRedirect, 'use https', { location });
  }
  if (traceRefused(method, route)) return reject(rr.metrics, route, target.path, 405, 'method not allowed', ALLOW_EXCEPT_TRACE);
  if (rr.cors !== null) setCorsHeaders(rr.cors, req.headers.origin, res);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > route.maxBodyBytes) {
    // Refuse before reading a byte of it, and close rather than drain a body we will not use.
    return reject(rr.metrics, route, target.path, 413, 'request body too large', CLOSE);
  }
  const policy = rr.policy;
  if (policy === null) return proceed(req, res, deps, rr, match.params, target, method, hostName, requestId, traceparent, span, startedAt, null, continueFirst);
  const ctx = newPolicyContext(req, route.id, requestId, method, target, hostName, deps.addresses.of(req));
  runPolicy(policy, ctx, (denial) => {
    if (denial !== null) return reject(rr.metrics, route, target.path, denial.status, denial.error, denial.headers, ctx.consumer?.name ?? null);
    // An asynchronous step (a JWKS fetch, an external decision) may outlast the client.
    if (res.destroyed || req.socket.destroyed) return clientGone(deps, rr, { requestId, method, path: target.path, traceparent, consumer: ctx.consumer?.name ?? null }, startedAt, span);
    proceed(req, res, deps, rr, match.params, target, method, hostName, requestId, traceparent, span, startedAt, ctx, continueFirst);
  });
}

type RouteParams = Extract<MatchResult, { kind: 'route' }>['params'];

/**
 * The client left while the gateway was still deciding (an asynchronous policy step, its body being read): counted
 * as 499, nothing to answer, no access-log line; its span still ends, as a client gone.
 */
function clientGone(deps: GatewayServerDeps, rr: RuntimeRoute, r: Pick<AccessLogLine, 'requestId' | 'method' | 'path' | 'traceparent' | 'consumer'>, startedAt: number, span: Span | null): void {
  rr.metrics.requestDone(r.method, 499, (performance.now() - startedAt) / 1000);
  if (span === null) return;
  const line = { ...r, route: rr.route.id, status: 499, upstream: null, upstreamMs: -1, bytesIn: 0, bytesOut: 0, error: 'GATEHOUSE_ABORTED' };
  deps.settings.tracer?.end(span, line, rr.route);
}

/** Past the policies: the route's request validation when it has one (proxy/validation), then its cache or upstream. */
function proceed(
  req: GatewayRequest,
  res: GatewayResponse,
  deps: GatewayServerDeps,
  rr: RuntimeRoute,
  params: RouteParams,
  target: RequestTarget,
  method: string,
  host: string,
  requestId: string,
  traceparent: string,
  span: Span | null,
  startedAt: number,
  ctx: PolicyContext | null,
  continueFirst: boolean,
): void {
  const validation = rr.validation;
  if (validation === null) return serve(req, res, deps, rr, params, target, method, host, requestId, traceparent, span, startedAt, ctx, continueFirst, null);
  const route = rr.route;
  // A client waiting for 100 Continue is told to send its body only when it is about to be read.
  const sendContinue = continueFirst ? () => res.writeContinue() : null;
  validateRequest(validation, req, target.query, route.maxBodyBytes, deps.clientTimeouts.bodyMs, sendContinue, (refusal, body) => {
    if (refusal === null) return serve(req, res, deps, rr, params, target, method, host, requestId, traceparent, span, startedAt, ctx, body === null && continueFirst, body);
    const consumer = ctx?.consumer?.name ?? null;
    // Gone while its body was read: as when it leaves during an asynchronous policy.
    if (refusal.status === 499) return clientGone(deps, rr, { requestId, method, path: target.path, traceparent, consumer }, startedAt, span);
    const rejected = { requestId, method, path: target.path, route: route.id, status: refusal.status, traceparent, consumer };
    rejectRequest(res, deps, rejected, rr.metrics, startedAt, refusal.error, refusal.close === true ? CLOSE : undefined, span, route, refusal.errors);
  });
}

/** Through the route's cache when it has one (a hit was authorized and counted), else upstream. `buffered`: the body, read and validated. */
function serve(
  req: GatewayRequest,
  res: GatewayResponse,
  deps: GatewayServerDeps,
  rr: RuntimeRoute,
  params: RouteParams,
  target: RequestTarget,
  method: string,
  host: string,
  requestId: string,
  traceparent: string,
  span: Span | null,
  startedAt: number,
  ctx: PolicyContext | null,
  continueFirst: boolean,
  buffered: Buffer | null,
): void {
  const cache = rr.cache;
  const policyHeaders = ctx?.responseHeaders ?? null;
  if (cache === null) return forward(req, res, deps, rr, params, target, method, requestId, traceparent, span, startedAt, ctx, null, policyHeaders, continueFirst, buffered);
  const consumer = ctx?.consumer ?? null;
  serveThroughCache(
    cache,
    { req, res, rr, method, host, path: target.path, query: target.query, requestId, consumer, policyHeaders },
    {
      forward: (fill, headers) => forward(req, res, deps, rr, params, target, method, requestId, traceparent, span, startedAt, ctx, fill, headers, continueFirst, buffered),
      answered: (status, bytesOut) =>
        recordAnswer(deps, { requestId, method, path: target.path, route: rr.route.id, status, traceparent, consumer: consumer?.name ?? null }, rr.metrics, startedAt, null, bytesOut, span, rr.route),
    },
  );
}

function forward(
  req: GatewayRequest,
  res: GatewayResponse,
  deps: GatewayServerDeps,
  rr: RuntimeRoute,
  params: Extract<MatchResult, { kind: 'route' }>['params'],
  target: RequestTarget,
  method: string,
  requestId: string,
  traceparent: string,
  span: Span | null,
  startedAt: number,
  ctx: PolicyContext | null,
  fill: CacheFill | null,
  policyHeaders: Array<[string, string]> | null,
  continueFirst: boolean,
  /** The whole body, already read (and validated); null: the body, if any, is streamed. */
  buffered: Buffer | null,
): void {
  const route = rr.route;
  if (rr.answer !== null) {
    const done = answerRequest(rr, rr.answer, req, res, method, target, params, requestId, ctx);
    return recordAnswer(deps, { requestId, method, path: target.path, route: route.id, status: done.status, traceparent, consumer: ctx?.consumer?.name ?? null }, rr.metrics, startedAt, done.error, done.bytesOut, span, route);
  }
  const picker = rr.canary !== null && wantsCanary(req.headers, rr.canary.trigger) ? rr.canary.picker : rr.primary;
  const backend = picker.pick();
  const endpoint = backend?.next(performance.now());
  if (backend === undefined || endpoint === undefined) {
    fill?.abort();
    const rejected = { requestId, method, path: target.path, route: route.id, status: 503, traceparent, consumer: ctx?.consumer?.name ?? null };
    return rejectRequest(res, deps, rejected, rr.metrics, startedAt, 'no healthy endpoint', undefined, span, route);
  }

  let upstreamPath = rr.rewrite === null ? target.path : rr.rewrite(target.path, params);
  if (backend.pathPrefix !== '') upstreamPath = backend.pathPrefix + upstreamPath;
  if (target.query !== '') upstreamPath = `${upstreamPath}?${target.query}`;
  const bodyRead = buffered !== null ? { bytes: buffered.length } : hasRequestBody(req) ? { bytes: 0 } : null;
  const idleMs = route.timeouts.idleMs;
  const exchange = new ProxyExchange(
    {
      req,
      res,
      route: rr,
      backend,
      endpoint,
      requestId,
      path: target.path,
      retries: bodyRead === null && IDEMPOTENT.has(method) ? route.retries.attempts : 0,
      dispatch: {
        method,
        path: upstreamPath,
        headers: upstreamRequestHeaders(
          req,
          requestId,
          backend.hostHeader,
          rr.requestHeaders,
          rr.policy?.ownedHeaders ?? null,
          ctx?.upstreamHeaders ?? null,
          traceparent,
          route.methods,
          deps.addresses,
        ),
        // undici streams any async iterable; its option type lists only Readable among the streaming kinds.
        body: buffered ?? (bodyRead === null ? null : (limitedBody(req, route.maxBodyBytes, bodyRead) as unknown as Readable)),
        headersTimeout: idleMs,
        bodyTimeout: idleMs,
        // SNI is the backend's server name, not the Host header's (which undici would use); undefined for http.
        servername: endpoint.servername,
      },
      startedAt,
      consumer: ctx?.consumer?.name ?? null,
      policyHeaders,
      traceparent,
      span,
      bodyRead,
      fill,
    },
    deps.settings,
  );
  if (continueFirst) res.writeContinue();
  if (bodyRead !== null && buffered === null) watchBodyTimeout(req, deps.clientTimeouts.bodyMs, () => exchange.clientBodyTimedOut());
  exchange.start();
}

/** A request the gateway answers itself, before any upstream. */
type Rejected = Pick<AccessLogLine, 'requestId' | 'method' | 'path' | 'route' | 'status' | 'traceparent' | 'consumer'>;

function rejectRequest(
  res: GatewayResponse,
  deps: GatewayServerDeps,
  r: Rejected,
  metrics: RouteMetrics,
  startedAt: number,
  error: string,
  extra: Record<string, string> | undefined,
  span: Span | null,
  route: TableRoute | null,
  errors?: readonly unknown[],
): void {
  const bytesOut = sendError(res, r.status, error, r.requestId, extra, errors);
  recordAnswer(deps, r, metrics, startedAt, error, bytesOut, span, route);
}

/** Metrics, access log and span of a request the gateway answered itself (an error, or a CORS preflight). */
function recordAnswer(
  deps: GatewayServerDeps,
  r: Rejected,
  metrics: RouteMetrics,
  startedAt: number,
  error: string | null,
  bytesOut: number,
  span: Span | null,
  route: TableRoute | null,
): void {
  // One clock read for both: answered here, the whole time is the gateway's.
  const endedAt = performance.now();
  metrics.requestDone(r.method, r.status, (endedAt - startedAt) / 1000);
  const log = deps.settings.accessLog;
  const logged = log.wants(r.status);
  if (!logged && span === null) return;
  // The error is the gateway's own fixed text (the JSON body's `error`), never request data.
  const line = { ...r, upstream: null, upstreamMs: -1, bytesIn: 0, bytesOut, error };
  if (logged) log.write(line, startedAt, endedAt);
  if (span !== null) deps.settings.tracer?.end(span, line, route);
}

// The proxy as a library: a traffic server and an admin server, fed routing tables through applyTable.
// This is what `gatehouse standalone` (and later `gatehouse proxy`) call.
import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { buildRuntime, buildRuntimeSliced, updateEndpoints, type BuildResult } from '../runtime/build-runtime.ts';
import { applyDelta as buildFromDelta } from '../runtime/delta-apply.ts';
import { TimeSlicer } from '../runtime/time-slicer.ts';
import type { DeltaMessage } from '../table/stream-protocol.ts';
import type { RoutingTable, TableEndpoint } from '../table/table-schema.ts';
import { DEFAULT_EJECTION, type EjectionPolicy } from '../runtime/endpoint-health.ts';
import { DEFAULT_POOL_SETTINGS, type PoolSettings } from '../runtime/endpoint-pool.ts';
import { RuntimeHolder } from '../runtime/runtime-holder.ts';
import type { RuntimeOptions } from '../runtime/runtime-types.ts';
import { createAdminServer } from './admin-server.ts';
import { settlesWithin } from './graceful-shutdown.ts';
import { GatewayMetrics, NO_ROUTE } from './gateway-metrics.ts';
import { createGatewayServer } from './gateway-server.ts';
import { createTlsGatewayServer, type TlsListenerOptions } from './tls-gateway-server.ts';
import { DEFAULT_CLIENT_TIMEOUTS, type ClientTimeouts } from './client-timeouts.ts';
import type { Http2SecureServer } from 'node:http2';
import { sniCallback } from '../tls/sni-callback.ts';
import { contextOptions, DEFAULT_TLS_SETTINGS } from '../tls/tls-settings.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import type { TableCertificate } from '../table/table-schema.ts';
import { AccessLog, type AccessLogOptions } from './request-log.ts';
import { AuthorizerMetrics } from './authorizer-metrics.ts';
import { policyEnvFor, retireAuthorizers, NO_AUTHORIZERS } from '../policy/authorizer-set.ts';
import { ClientAddresses } from '../policy/client-ip/client-address.ts';
import { FleetSize, rateLimitEnvFor, type GlobalLimitStore } from '../policy/rate-limit/rate-limit-env.ts';
import { RedisConnection, type RedisConnectionOptions } from '../policy/rate-limit/redis-connection.ts';
import { RedisLimitStore } from '../policy/rate-limit/redis-limit-store.ts';
import { StoreBreaker } from '../policy/rate-limit/store-breaker.ts';
import { RateLimitPrometheus } from './rate-limit-metrics.ts';
import type { OtlpTracingOptions, RequestTracer } from './otlp-tracer.ts';
import { ClientHandshakes } from '../websocket/client-handshake.ts';
import { ConnectionRegistry } from '../websocket/connection-registry.ts';
import { createUpgradeHandler } from '../websocket/upgrade-handler.ts';
import { WebSocketMetrics } from '../websocket/websocket-metrics.ts';
import type { Clock } from '../policy/policy-types.ts';
import { DEFAULT_COALESCE_WAIT_MS, type CacheEnv } from '../cache/route-cache.ts';
import { DEFAULT_CACHE_MAX_BYTES, MemoryCacheStore } from '../cache/memory-cache-store.ts';
import { RedisCacheStore } from '../cache/redis-cache-store.ts';
import { RequestCoalescer } from '../cache/request-coalescer.ts';
import { purgeCache, purgeRequestSchema } from '../cache/cache-purge.ts';
import { CachePrometheus } from './cache-metrics.ts';
import { AdminToken } from './admin-token.ts';

/** --websocket-drain's default. */
export const DEFAULT_WEBSOCKET_DRAIN_MS = 30_000;

export interface GatewayOptions {
  port: number;
  /** Listen address of the traffic port; default 127.0.0.1. */
  host?: string;
  /** A second traffic port serving TLS (tls-gateway-server.ts), on the same address as `port`; certificates by SNI from the table. */
  https?: TlsListenerOptions;
  /** The HTTPS port in the redirects of routes with spec.tls.httpsRedirect (default 443, left out of the URL). */
  httpsRedirectPort?: number;
  adminPort: number;
  /** Listen address of the admin port; default: `host`. */
  adminHost?: string;
  logger?: Logger;
  /** Passive ejection backoff for endpoints that refuse connections. */
  ejection?: Partial<EjectionPolicy>;
  /** undici pool settings per upstream endpoint. */
  pools?: Partial<PoolSettings>;
  /** How long close() lets in-flight requests finish before cutting them, unless stopAccepting ran before. Default 5 s. */
  shutdownGraceMs?: number;
  /** Refuse tables with more routes than this (a capacity guard for small proxies). */
  maxRoutes?: number;
  /** CIDRs of proxies in front of the gateway whose X-Forwarded-For names the client (default: none, the socket's peer is the client). */
  trustedProxies?: readonly string[];
  /** The Redis of Global rate limits; without it they act as if Redis were down (their failure mode decides). */
  redis?: Omit<RedisConnectionOptions, 'logger'>;
  /** Bound on the proxy's own rate-limit counters (default 100,000). */
  localLimitKeys?: number;
  /**
   * The access log (one JSON line per request through `logger`, msg "request"; docs/access-log.md). `sample`: share of
   * requests answered below 400 that are logged, 0 to 1, default 1 (all); 400 and above are always logged. Lines are
   * info (5xx: warn), so a logger level above info turns the access log off (5xx lines remain at warn).
   */
  accessLog?: AccessLogOptions;
  /**
   * OpenTelemetry span export over OTLP/HTTP (docs/tracing.md): one SERVER span per request, whose context is the
   * traceparent sent upstream. Absent: off, and no OpenTelemetry code is loaded.
   */
  tracing?: OtlpTracingOptions;
  /**
   * How long a WebSocket connection whose route was removed or changed keeps working before it is closed with 1001
   * (`--websocket-drain`). Default 30 s.
   */
  websocketDrainMs?: number;
  /**
   * How long a client may take over its request's headers, and at most between two reads of its body
   * (`--client-header-timeout`, `--client-body-timeout`; docs/http-front-door.md). Default 60 s each, as nginx.
   */
  clientTimeouts?: Partial<ClientTimeouts>;
  /**
   * The response caches (docs/caching.md): the memory tier's bound in bytes (--cache-max-bytes, default 256 MiB), the
   * clock their TTLs are read on (tests), and how long a miss waits for another request's answer (default 5 s).
   */
  cache?: { maxBytes?: number; clock?: Clock; coalesceWaitMs?: number };
  /** The bearer token of the admin port's state-changing endpoints (cache purge); without it they answer 403. */
  adminTokenFile?: string;
}

export type ApplyResult = { ok: true; version: string } | { ok: false; error: string };

export interface Gateway {
  server: Server;
  /** The TLS traffic listener, when `https` was given. */
  httpsServer: Http2SecureServer | null;
  admin: Server;
  /** Bound ports (useful with port 0). */
  port: number;
  /** Bound TLS port, null without `https`. */
  httpsPort: number | null;
  adminPort: number;
  /** Validate and build `table`, then swap it in atomically. A refused table leaves the current one serving. */
  applyTable(table: unknown): ApplyResult;
  /**
   * applyTable for a table already validated against the schema, built in time slices (no long event-loop stall
   * at 10k routes); the swap still happens at once. Applies run one at a time, in call order.
   */
  applyTableSliced(table: RoutingTable): Promise<ApplyResult>;
  /** New endpoints for existing backends, without rebuilding routes or the router. */
  applyEndpoints(baseVersion: string, version: string, backends: ReadonlyArray<{ id: string; endpoints: TableEndpoint[] }>): ApplyResult;
  /**
   * The routes and backends that changed since the version served; rebuilds only those (and the host buckets they
   * are in). Refused, with the current table still serving, when the base version is not the one served.
   */
  applyDelta(delta: DeltaMessage): Promise<ApplyResult>;
  /** The table version being served, undefined before the first table. */
  version(): string | undefined;
  /** The table being served (what a proxy persists), undefined before the first table. */
  table(): RoutingTable | undefined;
  /** The fleet size the controller reports: a Global limit's local fallback admits this proxy's share. */
  setFleetSize(proxies: number): void;
  metrics: GatewayMetrics;
  /**
   * Shutdown, phase 1 (graceful-shutdown.ts): /readyz answers 503 naming `reason`, and every response begun from now
   * on carries Connection: close, so keep-alive clients reconnect, through their balancer, to another proxy.
   */
  failReadiness(reason: string): void;
  /** Phase 2: the traffic listener closes, idle keep-alive sockets with it; `drained` settles once none is left. */
  stopAccepting(): Promise<{ open: number; drained: Promise<void> }>;
  /** Phase 3, at the deadline: destroys the traffic connections still open; resolves how many. */
  cutConnections(): Promise<number>;
  /**
   * Shutdown, right after the listener closes: open WebSockets get a close frame 1001 (Going Away); resolves how many
   * there were. Upgraded sockets count as the server's connections, so `drained` waits for them too.
   */
  closeUpgraded(): Promise<number>;
  /**
   * The open WebSocket connections: `closeAll` refuses new upgrades, waits `graceMs`, sends `code` to the rest and
   * settles once they are gone (close() calls it with 1001 and the shutdown grace).
   */
  websockets: Pick<ConnectionRegistry, 'count' | 'closeAll' | 'bufferedBytes'>;
  /**
   * Phases 2 and 3 within shutdownGraceMs unless they ran already (WebSockets get their 1001 after that grace), then
   * the admin server, authorizers, upstream pools and Redis; the access log is flushed.
   */
  close(): Promise<void>;
}

const GOING_AWAY = 'gateway shutting down';

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const logger = (opts.logger ?? pino({ level: 'info' })).child({ component: 'proxy' });
  const metrics = new GatewayMetrics();
  const holder = new RuntimeHolder();
  const ejection: EjectionPolicy = { ...DEFAULT_EJECTION, ...opts.ejection };
  // The JWKS gauges read the caches when scraped, by then made.
  const authorizerMetrics = new AuthorizerMetrics(metrics.registry, () => policy.jwks.states());
  const redis = opts.redis === undefined ? null : new RedisConnection({ ...opts.redis, logger });
  const global = redis === null ? null : globalStore(redis, logger);
  const fleet = new FleetSize();
  const limitMetrics = new RateLimitPrometheus(metrics.registry, {
    redisReady: () => (global === null ? null : global.state() === 'ready'),
    localKeys: () => limits.local.size,
    fleetProxies: () => fleet.proxies,
  });
  const limits = rateLimitEnvFor({ clock: Date.now, logger, metrics: limitMetrics, fleet, global, ...(opts.localLimitKeys !== undefined && { localKeys: opts.localLimitKeys }) });
  const policy = policyEnvFor(logger, authorizerMetrics, new ClientAddresses(opts.trustedProxies ?? []), Date.now, limits);
  const tlsSettings = opts.https === undefined ? null : (opts.https.settings ?? DEFAULT_TLS_SETTINGS);
  const cache = cacheEnv(opts, metrics, redis, logger);
  const adminToken = opts.adminTokenFile === undefined ? null : await AdminToken.open(opts.adminTokenFile);
  if (typeof adminToken === 'string') {
    await redis?.close();
    throw new Error(adminToken);
  }
  const runtimeOptions: RuntimeOptions = {
    ejection,
    pools: { ...DEFAULT_POOL_SETTINGS, ...opts.pools },
    routeMetrics: (id) => metrics.forRoute(id),
    policy,
    cache,
    ...(tlsSettings !== null && { tls: { settings: tlsSettings, logger } }),
  };
  const accessLog = new AccessLog(logger, opts.accessLog);
  const tracer = opts.tracing === undefined ? null : await startTracer(opts.tracing, logger, metrics);
  const settings = { logger, accessLog, ejection, tracer };
  let unready: string | undefined;
  const websockets = new ConnectionRegistry(opts.websocketDrainMs ?? DEFAULT_WEBSOCKET_DRAIN_MS);
  const clientHandshakes = new ClientHandshakes();
  const upgrade = createUpgradeHandler({
    holder,
    settings,
    addresses: policy.addresses,
    registry: websockets,
    metrics: new WebSocketMetrics(metrics.registry),
    clients: clientHandshakes,
    noRoute: metrics.forRoute(NO_ROUTE),
  });
  const clientTimeouts = { ...DEFAULT_CLIENT_TIMEOUTS, ...opts.clientTimeouts };
  const serverDeps = { holder, settings, noRoute: metrics.forRoute(NO_ROUTE), addresses: policy.addresses, upgrade, clientTimeouts };
  const server = createGatewayServer({ ...serverDeps, httpsRedirectPort: opts.httpsRedirectPort ?? 443 });
  const secure =
    tlsSettings === null
      ? null
      : createTlsGatewayServer(serverDeps, {
          ...contextOptions(tlsSettings),
          SNICallback: sniCallback(() => holder.current?.certificates ?? null),
          // Client certificates are asked for per host (tls/client-certificate.ts) and judged per route, never by
          // ending the handshake.
          requestCert: false,
          rejectUnauthorized: false,
        });
  // Clients that send no SNI get the listener's own context: the table's default certificate, or none (refused).
  let listenerCertificate: TableCertificate | null = null;
  const useDefaultCertificate = (store: CertificateStore | null): void => {
    const next = store?.defaultCertificate ?? null;
    if (secure === null || tlsSettings === null || next === listenerCertificate) return;
    if (next !== null && listenerCertificate !== null && next.certPem === listenerCertificate.certPem && next.keyPem === listenerCertificate.keyPem) return;
    listenerCertificate = next;
    try {
      secure.server.setSecureContext({ ...contextOptions(tlsSettings), ...(next !== null && { cert: next.certPem, key: next.keyPem }) });
    } catch (err) {
      // The compiler checked the pair; the reason is OpenSSL's and names no key material.
      logger.error({ certificate: next?.id, reason: err instanceof Error ? err.message : String(err) }, 'default certificate not usable');
    }
  };
  const admin = createAdminServer({
    registry: metrics.registry,
    servedVersion: () => holder.current?.version,
    notReady: () => unready,
    logger,
    // Reported, never failing readiness: taking proxies out of the Service would not bring Redis back.
    readinessNotes: () => {
      const state = global?.state() ?? 'ready';
      return state === 'ready' ? [] : [`redis ${state}: Global limits follow their failure mode`];
    },
    token: adminToken,
    actions: {
      '/cache/purge': async (body) => {
        const request = purgeRequestSchema.safeParse(body);
        if (!request.success) return { status: 400, body: { error: request.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') } };
        const result = await purgeCache(cache, request.data);
        logger.info({ prefix: result.prefix, memory: result.memory, redis: result.redis }, 'cache purged');
        return { status: 200, body: { ...result } };
      },
    },
  });
  const host = opts.host ?? '127.0.0.1';
  try {
    await listen(server, opts.port, host);
    if (secure !== null && opts.https !== undefined) await listen(secure.server, opts.https.port, host);
    await listen(admin, opts.adminPort, opts.adminHost ?? host);
  } catch (err) {
    server.close();
    secure?.server.close();
    admin.close();
    await tracer?.close();
    throw err;
  }

  const tooBig = (routes: number): string | null =>
    opts.maxRoutes !== undefined && routes > opts.maxRoutes ? `table has ${routes} routes; this proxy accepts at most ${opts.maxRoutes} (--max-routes)` : null;

  const settle = (built: BuildResult, kind: 'full' | 'endpoints' | 'delta'): ApplyResult => {
    metrics.tableApplied(built.ok);
    if (!built.ok) {
      logger.error({ err: built.error, serving: holder.current?.version ?? null }, 'routing table refused');
      return { ok: false, error: built.error };
    }
    const previousAuthorizers = holder.current?.authorizers ?? NO_AUTHORIZERS;
    holder.swap(built.runtime, built.retired);
    useDefaultCertificate(built.runtime.certificates);
    // Open WebSockets on removed or changed routes start draining; every other one is left alone.
    if (kind !== 'endpoints') websockets.reconcile(built.runtime.routes);
    retireAuthorizers(previousAuthorizers, built.runtime.authorizers, runtimeOptions.policy);
    metrics.tableUpdated(kind);
    metrics.serving(built.runtime.version);
    logger.info({ version: built.runtime.version, kind, routes: built.runtime.routes.size, endpoints: built.runtime.endpoints.size, retired: built.retired.length }, 'routing table applied');
    return { ok: true, version: built.runtime.version };
  };

  const applyTable = (table: unknown): ApplyResult => {
    const routes = (table as { routes?: unknown } | null)?.routes;
    const big = Array.isArray(routes) ? tooBig(routes.length) : null;
    return settle(big === null ? buildRuntime(table, holder.current, runtimeOptions) : { ok: false, error: big }, 'full');
  };

  let applying: Promise<unknown> = Promise.resolve();
  const applyTableSliced = (table: RoutingTable): Promise<ApplyResult> => {
    const run = async (): Promise<ApplyResult> => {
      const big = tooBig(table.routes.length);
      // The previous runtime is read when this build starts, after any earlier apply has swapped.
      return settle(big === null ? await buildRuntimeSliced(table, new TimeSlicer(), holder.current, runtimeOptions) : { ok: false, error: big }, 'full');
    };
    const result = applying.then(run, run);
    applying = result;
    return result;
  };

  const applyDelta = (delta: DeltaMessage): Promise<ApplyResult> => {
    const run = async (): Promise<ApplyResult> => {
      const current = holder.current;
      if (current === undefined) return settle({ ok: false, error: `delta against ${delta.baseVersion}, but serving nothing` }, 'delta');
      return settle(await buildFromDelta(current, delta, new TimeSlicer(), tooBig), 'delta');
    };
    const result = applying.then(run, run);
    applying = result;
    return result;
  };

  const applyEndpoints = (baseVersion: string, version: string, backends: ReadonlyArray<{ id: string; endpoints: TableEndpoint[] }>): ApplyResult => {
    const current = holder.current;
    if (current === undefined || current.version !== baseVersion) {
      return { ok: false, error: `endpoint update for version ${baseVersion}, but serving ${current?.version ?? 'nothing'}` };
    }
    return settle(updateEndpoints(current, version, backends), 'endpoints');
  };

  const failReadiness = (reason: string): void => {
    if (unready !== undefined) return;
    unready = reason;
    // Added only now, so requests before a shutdown pay nothing for it.
    server.prependListener('request', askToClose);
    secure?.server.prependListener('request', askToClose);
    // HTTP/2 has no Connection: close: its sessions get GOAWAY instead (tls-gateway-server.ts).
    secure?.goAway();
    // New WebSockets would be cut in a moment: refused (503) so their clients reconnect to another proxy.
    websockets.refuseNew();
  };

  let drained: Promise<void> | undefined;
  let idleSweep: NodeJS.Timeout | undefined;
  const stopAccepting = async (): Promise<{ open: number; drained: Promise<void> }> => {
    if (drained === undefined) {
      failReadiness('shutting down');
      // Also closes the idle connections (Node >= 19).
      drained = secure === null ? closeServer(server) : Promise.all([closeServer(server), closeServer(secure.server)]).then(() => {});
      // A response that went out keep-alive before the shutdown leaves its socket idle afterwards, open until the
      // keep-alive timeout (65 s): closed as such sockets appear, so they do not hold the drain to its deadline.
      idleSweep = setInterval(() => {
        server.closeIdleConnections();
        secure?.closeIdle();
      }, IDLE_SWEEP_MS).unref();
      void drained.then(() => clearInterval(idleSweep));
    }
    return { open: await trafficConnections(), drained };
  };

  // The shutdown delay was their grace: 1001 at once; the registry waits for their close and ends the stragglers.
  let upgradedClosed: Promise<void> | undefined;
  const closeUpgraded = async (): Promise<number> => {
    const open = websockets.count();
    upgradedClosed ??= websockets.closeAll(1001, GOING_AWAY, 0);
    return open;
  };

  const cutConnections = async (): Promise<number> => {
    const open = await trafficConnections();
    clearInterval(idleSweep);
    server.closeAllConnections();
    secure?.closeAll();
    return open;
  };

  const trafficConnections = async (): Promise<number> => (await connectionCount(server)) + (secure === null ? 0 : await connectionCount(secure.server));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const graceMs = opts.shutdownGraceMs ?? 5_000;
      const before = drained;
      const { drained: done } = await stopAccepting();
      // Upgraded sockets count as the server's connections: they must end for it to close. After a graceful
      // shutdown (before !== undefined) they were sent their 1001 already and the deadline has passed.
      const sockets = upgradedClosed ?? websockets.closeAll(1001, GOING_AWAY, graceMs);
      if (before !== undefined || !(await settlesWithin(done, graceMs))) await cutConnections();
      await sockets;
      clientHandshakes.close();
      const adminClosed = closeServer(admin);
      admin.closeAllConnections(); // probes and scrapes: nothing worth waiting for
      await adminClosed;
      accessLog.flush();
      await tracer?.close();
      retireAuthorizers(holder.current?.authorizers ?? NO_AUTHORIZERS, NO_AUTHORIZERS, runtimeOptions.policy);
      await holder.destroy();
      await redis?.close();
    })());

  return {
    server,
    httpsServer: secure?.server ?? null,
    admin,
    port: (server.address() as AddressInfo).port,
    httpsPort: secure === null ? null : (secure.server.address() as AddressInfo).port,
    adminPort: (admin.address() as AddressInfo).port,
    applyTable,
    applyTableSliced,
    applyEndpoints,
    applyDelta,
    version: () => holder.current?.version,
    table: () => holder.current?.table,
    setFleetSize: (proxies) => fleet.set(proxies),
    metrics,
    failReadiness,
    stopAccepting,
    closeUpgraded,
    cutConnections,
    websockets,
    close,
  };
}

/** The response caches' shared parts: the memory LRU, the Redis tier (on the rate limits' connection), the flights. */
function cacheEnv(opts: GatewayOptions, metrics: GatewayMetrics, redis: RedisConnection | null, logger: Logger): CacheEnv {
  const clock = opts.cache?.clock ?? Date.now;
  const flights = new RequestCoalescer();
  const maxBytes = opts.cache?.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
  // The memory store reports evictions to the metrics, and the metrics read its bytes when scraped.
  const memory: MemoryCacheStore = new MemoryCacheStore(maxBytes, (record) => cacheMetrics.evicted(record.route), clock);
  const cacheMetrics = new CachePrometheus(metrics.registry, { bytesByRoute: () => memory.bytesByRoute(), maxBytes, waiting: () => flights.waiting });
  return {
    clock,
    memory,
    redis: redis === null ? null : new RedisCacheStore(redis),
    flights,
    metrics: cacheMetrics,
    coalesceWaitMs: opts.cache?.coalesceWaitMs ?? DEFAULT_COALESCE_WAIT_MS,
    logger,
    warned: new Set(),
  };
}

/** The span exporter, loaded only when configured so that a gateway without one never loads OpenTelemetry. */
async function startTracer(options: OtlpTracingOptions, logger: Logger, metrics: GatewayMetrics): Promise<RequestTracer> {
  const { RequestTracer } = await import('./otlp-tracer.ts');
  const tracer = new RequestTracer(options, logger, metrics.registry);
  // The URL without credentials or query (the flag refuses them, a library caller might not), never the headers.
  const url = new URL(options.endpoint);
  logger.info({ endpoint: `${url.origin}${url.pathname}`, sample: options.sample ?? 1 }, 'exporting request spans over OTLP/HTTP');
  return tracer;
}

/**
 * Redis as the fleet's counter store: asked only while connected and answering (the breaker), so an outage or a
 * frozen Redis costs no waiting.
 */
function globalStore(connection: RedisConnection, logger: Logger): GlobalLimitStore & { state(): string } {
  const store = new RedisLimitStore(connection);
  const breaker = new StoreBreaker({ logger: logger.child({ redis: connection.target }) });
  return {
    available: () => connection.status() === 'ready' && breaker.allows(),
    take: (tag, calls) => store.take(tag, calls),
    refund: (tag, calls) => store.refund(tag, calls),
    settled: (ok) => breaker.settled(ok),
    // For metrics and readiness: no side effect (available() may hand out the breaker's one probe).
    state: () => (connection.status() !== 'ready' ? connection.status() : breaker.open ? 'not answering in time' : 'ready'),
  };
}

async function listen(server: Server | Http2SecureServer, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await once(server, 'listening');
}

/** How often idle sockets are closed while a shutdown drains. */
const IDLE_SWEEP_MS = 100;

function askToClose(_req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
}

function closeServer(server: Server | Http2SecureServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function connectionCount(server: Server | Http2SecureServer): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, count) => resolve(err ? 0 : count)));
}

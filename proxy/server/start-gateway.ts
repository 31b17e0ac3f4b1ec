// The proxy as a library: a traffic server and an admin server, fed routing tables through applyTable.
// This is what `gatehouse standalone` (and later `gatehouse proxy`) call.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { buildRuntime } from '../runtime/build-runtime.ts';
import { DEFAULT_EJECTION, type EjectionPolicy } from '../runtime/endpoint-health.ts';
import { DEFAULT_POOL_SETTINGS, type PoolSettings } from '../runtime/endpoint-pool.ts';
import { RuntimeHolder } from '../runtime/runtime-holder.ts';
import type { RuntimeOptions } from '../runtime/runtime-types.ts';
import { createAdminServer } from './admin-server.ts';
import { GatewayMetrics, NO_ROUTE } from './gateway-metrics.ts';
import { createGatewayServer } from './gateway-server.ts';

export interface GatewayOptions {
  port: number;
  /** Listen address of the traffic port; default 127.0.0.1. */
  host?: string;
  adminPort: number;
  /** Listen address of the admin port; default: `host`. */
  adminHost?: string;
  logger?: Logger;
  /** Passive ejection backoff for endpoints that refuse connections. */
  ejection?: Partial<EjectionPolicy>;
  /** undici pool settings per upstream endpoint. */
  pools?: Partial<PoolSettings>;
  /** How long close() lets in-flight requests finish before cutting them. Default 5 s. */
  shutdownGraceMs?: number;
}

export type ApplyResult = { ok: true; version: string } | { ok: false; error: string };

export interface Gateway {
  server: Server;
  admin: Server;
  /** Bound ports (useful with port 0). */
  port: number;
  adminPort: number;
  /** Validate and build `table`, then swap it in atomically. A refused table leaves the current one serving. */
  applyTable(table: unknown): ApplyResult;
  /** The table version being served, undefined before the first table. */
  version(): string | undefined;
  metrics: GatewayMetrics;
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const logger = (opts.logger ?? pino({ level: 'info' })).child({ component: 'proxy' });
  const metrics = new GatewayMetrics();
  const holder = new RuntimeHolder();
  const ejection: EjectionPolicy = { ...DEFAULT_EJECTION, ...opts.ejection };
  const runtimeOptions: RuntimeOptions = {
    ejection,
    pools: { ...DEFAULT_POOL_SETTINGS, ...opts.pools },
    routeMetrics: (id) => metrics.forRoute(id),
  };
  const server = createGatewayServer({ holder, settings: { logger, ejection }, noRoute: metrics.forRoute(NO_ROUTE) });
  const admin = createAdminServer({ registry: metrics.registry, servedVersion: () => holder.current?.version, logger });
  const host = opts.host ?? '127.0.0.1';
  try {
    await listen(server, opts.port, host);
    await listen(admin, opts.adminPort, opts.adminHost ?? host);
  } catch (err) {
    server.close();
    admin.close();
    throw err;
  }

  const applyTable = (table: unknown): ApplyResult => {
    const built = buildRuntime(table, holder.current, runtimeOptions);
    metrics.tableApplied(built.ok);
    if (!built.ok) {
      logger.error({ err: built.error, serving: holder.current?.version ?? null }, 'routing table refused');
      return { ok: false, error: built.error };
    }
    holder.swap(built.runtime, built.retired);
    logger.info({ version: built.runtime.version, routes: built.runtime.routes.size, endpoints: built.runtime.endpoints.size, retired: built.retired.length }, 'routing table applied');
    return { ok: true, version: built.runtime.version };
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const graceMs = opts.shutdownGraceMs ?? 5_000;
      const closed = Promise.all([closeServer(server), closeServer(admin)]);
      server.closeIdleConnections();
      admin.closeIdleConnections();
      const grace = setTimeout(() => {
        server.closeAllConnections();
        admin.closeAllConnections();
      }, graceMs);
      await closed;
      clearTimeout(grace);
      await holder.destroy();
    })());

  return {
    server,
    admin,
    port: (server.address() as AddressInfo).port,
    adminPort: (admin.address() as AddressInfo).port,
    applyTable,
    version: () => holder.current?.version,
    metrics,
    close,
  };
}

async function listen(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await once(server, 'listening');
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

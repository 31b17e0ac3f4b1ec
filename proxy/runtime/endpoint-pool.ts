// One undici Pool per upstream endpoint (and connect timeout / TLS settings, which are per-pool settings in undici).
// Pools outlive tables: a table swap that keeps an endpoint keeps its warm connections; one that changes how it is
// verified (a rotated CA, another server name) makes a new pool, so no connection verified the old way is reused.
import type { Pool } from 'undici';
import { undiciPool } from './on-demand-packages.ts';
import type { TableBackend, TableEndpoint } from '../table/table-schema.ts';
import type { EndpointHealth } from './endpoint-health.ts';
import type { UpstreamTls } from './upstream-tls.ts';

export interface PoolSettings {
  /** Connections per endpoint; beyond it requests queue in the pool. */
  connections: number;
  /** How long an idle upstream connection is kept open. */
  keepAliveMs: number;
}

export const DEFAULT_POOL_SETTINGS: PoolSettings = { connections: 256, keepAliveMs: 4_000 };

export class UpstreamEndpoint {
  readonly key: string;
  /** "host:port", for logs. */
  readonly address: string;
  readonly health: EndpointHealth;
  readonly pool: Pool;
  /** "http://host:port" or "https://…": WebSocket upgrades open their own connection, outside the pool. */
  readonly origin: string;
  /** null for http; WebSocket upgrades use the same options as the pool. */
  readonly tls: UpstreamTls | null;
  /** The SNI name sent with every request (undici otherwise derives it from the Host header); undefined without TLS. */
  readonly servername: string | undefined;
  readonly connectMs: number;

  constructor(key: string, origin: string, address: string, health: EndpointHealth, connectMs: number, tls: UpstreamTls | null, settings: PoolSettings) {
    this.key = key;
    this.address = address;
    this.health = health;
    this.origin = origin;
    this.tls = tls;
    this.servername = tls?.servername;
    this.connectMs = connectMs;
    this.pool = new (undiciPool())(origin, {
      connections: settings.connections,
      keepAliveTimeout: settings.keepAliveMs,
      // Upstreams speak HTTP/1.1 (hop-by-hop headers and upgrades assume it): never offer h2 by ALPN.
      allowH2: false,
      connect: tls === null ? { timeout: connectMs } : { timeout: connectMs, ...tls.connect },
    });
  }

  /** Finishes the requests already running on it, then closes its connections. */
  retire(): void {
    this.pool.close().catch(() => {});
  }

  destroy(): Promise<void> {
    return this.pool.destroy().catch(() => {});
  }
}

export function originOf(protocol: TableBackend['protocol'], endpoint: TableEndpoint): string {
  const host = endpoint.host.includes(':') && !endpoint.host.startsWith('[') ? `[${endpoint.host}]` : endpoint.host;
  return `${protocol}://${host}:${endpoint.port}`;
}

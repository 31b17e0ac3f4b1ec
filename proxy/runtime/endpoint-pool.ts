// One undici Pool per upstream endpoint (and connect timeout / TLS name, which are per-pool settings in undici).
// Pools outlive tables: a table swap that keeps an endpoint keeps its warm connections.
import { Pool } from 'undici';
import type { TableBackend, TableEndpoint } from '../table/table-schema.ts';
import type { EndpointHealth } from './endpoint-health.ts';

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
  readonly servername: string | undefined;
  readonly connectMs: number;

  constructor(key: string, origin: string, address: string, health: EndpointHealth, connectMs: number, servername: string | undefined, settings: PoolSettings) {
    this.key = key;
    this.address = address;
    this.health = health;
    this.origin = origin;
    this.servername = servername;
    this.connectMs = connectMs;
    this.pool = new Pool(origin, {
      connections: settings.connections,
      keepAliveTimeout: settings.keepAliveMs,
      connect: servername === undefined ? { timeout: connectMs } : { timeout: connectMs, servername },
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

/** TLS server name for an https backend: its Host header without a port, when it has one. */
export function servernameOf(backend: TableBackend): string | undefined {
  if (backend.protocol !== 'https' || backend.hostHeader === undefined) return undefined;
  return backend.hostHeader.replace(/:\d+$/, '');
}

// What every route's cache of one gateway shares (the memory LRU, the Redis tier, the flights, the clock, the
// instruments), carried from table to table, and the per-route cache built from a table route at apply: its settings,
// its tier, its counters, and the two operations on its tier (look up with Vary, store with Vary).
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Clock, Consumer } from '../policy/policy-types.ts';
import { grantedScopes } from '../policy/jwt/granted-scopes.ts';
import type { TableCache, TableRoute } from '../table/table-schema.ts';
import type { CachedResponse, CacheRecord } from './cached-response.ts';
import { variantKey, variantOf } from './cache-key.ts';
import type { MemoryCacheStore } from './memory-cache-store.ts';
import type { RedisCacheStore } from './redis-cache-store.ts';
import type { RequestCoalescer } from './request-coalescer.ts';

/** One route's answers by outcome, as plain numbers (read when scraped). */
export interface CacheCounts {
  hits: number;
  misses: number;
  bypasses: number;
  /** Body bytes answered from the cache. */
  hitBytes: number;
}

export interface CacheMetrics {
  /** The counters of a route id, the same object across table swaps. */
  route(routeId: string): CacheCounts;
  /** A record pushed out of the memory LRU to make room, before it expired. */
  evicted(routeId: string): void;
}

export interface CacheEnv {
  clock: Clock;
  memory: MemoryCacheStore;
  /** null without --redis-url: rules asking for the shared tier use this proxy's memory instead (logged once). */
  redis: RedisCacheStore | null;
  flights: RequestCoalescer;
  metrics: CacheMetrics;
  /** How long a miss waits for another request's answer for the same key before going upstream itself. */
  coalesceWaitMs: number;
  logger: Logger;
  /** Rules already warned about (shared tier asked for, no Redis). */
  warned: Set<string>;
}

/** --cache-coalesce-wait's stand-in: the default bound on waiting for another request's answer. */
export const DEFAULT_COALESCE_WAIT_MS = 5_000;

export class RouteCache {
  readonly config: TableCache;
  readonly routeId: string;
  readonly env: CacheEnv;
  readonly counts: CacheCounts;
  /** The route has an authorizer: every key includes the consumer, and a request without one is not cached. */
  readonly keyedByConsumer: boolean;
  readonly #redis: RedisCacheStore | null;

  constructor(route: TableRoute, config: TableCache, env: CacheEnv) {
    this.config = config;
    this.routeId = route.id;
    this.env = env;
    this.counts = env.metrics.route(route.id);
    this.keyedByConsumer = route.auth !== undefined;
    this.#redis = config.storage === 'redis' ? env.redis : null;
  }

  /** Whether this caller may skip the cache with Cache-Control: max-age=0 (and refresh the entry). */
  mayInvalidate(consumer: Consumer | null): boolean {
    const rule = this.config.clientInvalidation;
    if (rule === undefined) return false;
    if (rule.scope === undefined) return true;
    return consumer !== null && grantedScopes(consumer.claims).has(rule.scope);
  }

  /** The fresh answer for this request, following a Vary marker to the request's variant. Memory answers synchronously. */
  lookup(key: string, request: IncomingHttpHeaders): CachedResponse | undefined | Promise<CachedResponse | undefined> {
    const redis = this.#redis;
    if (redis === null) {
      const now = this.env.clock();
      const found = this.env.memory.get(key, now);
      if (found === undefined || found.kind === 'response') return found;
      const variant = this.env.memory.get(variantKey(key, variantOf(found.names, request)), now);
      return variant?.kind === 'response' ? variant : undefined;
    }
    return this.#redisLookup(redis, key, request);
  }

  async #redisLookup(redis: RedisCacheStore, key: string, request: IncomingHttpHeaders): Promise<CachedResponse | undefined> {
    const found = fresh(await redis.get(key), this.env.clock());
    if (found === undefined || found.kind === 'response') return found;
    const variant = fresh(await redis.get(variantKey(key, variantOf(found.names, request))), this.env.clock());
    return variant?.kind === 'response' ? variant : undefined;
  }

  /** Stores an answer; one that varies goes under its variant's key, with a marker under the primary one. */
  store(key: string, record: CachedResponse, vary: readonly string[]): void {
    const ttlMs = record.expiresAt - record.storedAt;
    if (vary.length === 0 || record.variant === null) return this.#put(key, record, ttlMs);
    this.#put(key, { kind: 'vary', names: vary, storedAt: record.storedAt, expiresAt: record.expiresAt, route: record.route }, ttlMs);
    this.#put(variantKey(key, record.variant), record, ttlMs);
  }

  #put(key: string, record: CacheRecord, ttlMs: number): void {
    if (this.#redis !== null) this.#redis.set(key, record, ttlMs);
    else this.env.memory.set(key, record);
  }
}

function fresh(record: CacheRecord | undefined, now: number): CacheRecord | undefined {
  return record !== undefined && record.expiresAt > now ? record : undefined;
}

/** The route's cache, or null when it has none (or the gateway was built without a cache env): it pays nothing. */
export function buildRouteCache(route: TableRoute, env: CacheEnv | undefined): RouteCache | null {
  const config = route.cache;
  if (config === undefined || env === undefined) return null;
  if (config.storage === 'redis' && env.redis === null && !env.warned.has(config.id)) {
    env.warned.add(config.id);
    env.logger.warn({ cache: config.id }, "cache asks for the shared Redis tier but the proxy has no --redis-url: using this proxy's memory");
  }
  return new RouteCache(route, config, env);
}

// The fleet's shared cache tier, in the rate limits' Redis (one connection, proxy/policy/rate-limit/redis-connection.ts):
// one value per record, expiring in Redis with it (PX). Asked only while the connection is ready; an error, a timeout
// (--redis-timeout) or an unreadable value is a miss, and a store that fails is dropped: the cache never fails a request.
import type { Cluster, Redis } from 'ioredis';
import type { RedisConnection } from '../policy/rate-limit/redis-connection.ts';
import { decodeRecord, encodeRecord, type CacheRecord } from './cached-response.ts';

/** Every cache key in Redis starts with this (apart from the rate limits' keys). */
export const REDIS_CACHE_PREFIX = 'gatehouse:cache:';
const SCAN_COUNT = 500;

export class RedisCacheStore {
  readonly #connection: RedisConnection;

  constructor(connection: RedisConnection) {
    this.#connection = connection;
  }

  available(): boolean {
    return this.#connection.canSend();
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    if (!this.#connection.canSend()) return undefined;
    try {
      const value = await this.#connection.client.getBuffer(REDIS_CACHE_PREFIX + key);
      return value === null ? undefined : (decodeRecord(value) ?? undefined);
    } catch {
      return undefined;
    }
  }

  /** Fire and forget: a failed store only means a later miss. */
  set(key: string, record: CacheRecord, ttlMs: number): void {
    if (!this.#connection.canSend() || ttlMs <= 0) return;
    this.#connection.client.set(REDIS_CACHE_PREFIX + key, encodeRecord(record), 'PX', Math.ceil(ttlMs)).catch(() => {});
  }

  /** Deletes every key starting with `prefix` (SCAN on every master, UNLINK one key at a time: keys of a Cluster span slots). */
  async purge(prefix: string): Promise<number> {
    const client = this.#connection.client;
    const nodes: Redis[] = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
    const pattern = `${escapeGlob(REDIS_CACHE_PREFIX + prefix)}*`;
    let removed = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
        cursor = next;
        if (keys.length > 0) {
          const pipeline = node.pipeline();
          for (const key of keys) pipeline.unlink(key);
          const results = (await pipeline.exec()) ?? [];
          for (const [err, n] of results) if (err === null && n === 1) removed++;
        }
      } while (cursor !== '0');
    }
    return removed;
  }
}

/** SCAN MATCH is a glob: the prefix's own *, ?, [ and \ are matched literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

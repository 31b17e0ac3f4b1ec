// This proxy's cache tier: an LRU bounded in bytes (--cache-max-bytes) shared by every route, carried across table
// swaps. Expiry is checked on read against the injected clock (tests move time without sleeping); an expired record
// is dropped when read, or evicted like any other when room is needed.
import { LRUCache } from 'lru-cache';
import { recordSize, type CacheRecord } from './cached-response.ts';

/** --cache-max-bytes' default. */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024;

export class MemoryCacheStore {
  readonly maxBytes: number;
  readonly #lru: LRUCache<string, CacheRecord>;
  /** Bytes held per route id (for the gauge). */
  readonly #bytesByRoute = new Map<string, number>();

  /** `evicted` is told of each record pushed out to make room (not of expired, replaced or purged ones). */
  constructor(maxBytes: number, evicted: (record: CacheRecord, now: number) => void, clock: () => number) {
    this.maxBytes = maxBytes;
    const bytes = this.#bytesByRoute;
    this.#lru = new LRUCache<string, CacheRecord>({
      maxSize: maxBytes,
      dispose: (record, key, reason) => {
        const left = (bytes.get(record.route) ?? 0) - recordSize(key, record);
        if (left > 0) bytes.set(record.route, left);
        else bytes.delete(record.route);
        if (reason === 'evict') {
          const now = clock();
          if (record.expiresAt > now) evicted(record, now);
        }
      },
    });
  }

  /** The record under `key` while fresh at `now`. */
  get(key: string, now: number): CacheRecord | undefined {
    const record = this.#lru.get(key);
    if (record === undefined) return undefined;
    if (record.expiresAt <= now) {
      this.#lru.delete(key);
      return undefined;
    }
    return record;
  }

  /** False when the record alone is larger than the whole store. */
  set(key: string, record: CacheRecord): boolean {
    const size = recordSize(key, record);
    if (size > this.maxBytes) return false;
    this.#lru.set(key, record, { size });
    this.#bytesByRoute.set(record.route, (this.#bytesByRoute.get(record.route) ?? 0) + size);
    return true;
  }

  /** Removes every record whose key starts with `prefix`; returns how many. */
  purge(prefix: string): number {
    const doomed: string[] = [];
    for (const key of this.#lru.keys()) if (key.startsWith(prefix)) doomed.push(key);
    for (const key of doomed) this.#lru.delete(key);
    return doomed.length;
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  get entries(): number {
    return this.#lru.size;
  }

  bytesByRoute(): ReadonlyMap<string, number> {
    return this.#bytesByRoute;
  }
}

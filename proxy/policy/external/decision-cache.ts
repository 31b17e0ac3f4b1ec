// A bounded LRU of decisions with per-entry expiry read from the injected clock (not lru-cache's own timers),
// so tests move time without waiting and an entry is never served past its deadline.
import { LRUCache } from 'lru-cache';
import type { Clock } from '../policy-types.ts';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

export class DecisionCache<T extends object> {
  readonly #entries: LRUCache<string, Entry<T>>;
  readonly #clock: Clock;

  constructor(maxEntries: number, clock: Clock) {
    this.#entries = new LRUCache<string, Entry<T>>({ max: Math.max(1, maxEntries) });
    this.#clock = clock;
  }

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#clock() < entry.expiresAt) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** ttlMs 0 (or less) stores nothing. */
  set(key: string, value: T, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.#entries.set(key, { value, expiresAt: this.#clock() + ttlMs });
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}

// Tokens already verified, so a repeat costs a hash and a map lookup instead of a signature check.
// Keyed by sha256(token): the cache never holds a token that a heap dump could replay. Bounded by count (LRU), and an
// entry answers only inside the token's own validity window, read from the injected clock at lookup (lru-cache's TTL
// is not used: it runs on its own clock, and the window is the token's, not the cache's).
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

interface Entry<V> {
  value: V;
  notBeforeMs: number;
  expiresAtMs: number;
}

export class VerifiedTokenCache<V extends object> {
  readonly #lru: LRUCache<string, Entry<V>>;
  /** Bumped by clear(): a verification that started before a clear must not insert its (possibly stale) result. */
  #generation = 0;

  constructor(max: number) {
    this.#lru = new LRUCache({ max });
  }

  static keyOf(token: string): string {
    return hash('sha256', token, 'base64url');
  }

  get generation(): number {
    return this.#generation;
  }

  /** The value while nowMs is in [notBefore, expiresAt); never past the token's exp. */
  get(key: string, nowMs: number): V | undefined {
    const entry = this.#lru.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.expiresAtMs) {
      this.#lru.delete(key);
      return undefined;
    }
    return nowMs >= entry.notBeforeMs ? entry.value : undefined;
  }

  /** Stores a result verified during `generation`, unless the cache was cleared since or the window is already over. */
  set(key: string, value: V, window: { notBeforeMs: number; expiresAtMs: number; nowMs: number }, generation: number): void {
    if (generation !== this.#generation || window.nowMs >= window.expiresAtMs) return;
    this.#lru.set(key, { value, notBeforeMs: window.notBeforeMs, expiresAtMs: window.expiresAtMs });
  }

  clear(): void {
    this.#generation++;
    this.#lru.clear();
  }

  get size(): number {
    return this.#lru.size;
  }
}

// The proxy's own counters: Local limits, and Global limits' fallback while Redis cannot answer. One LRU for all of
// them, bounded in entries, so a flood of distinct keys (spoofed headers, scanning clients) evicts the idlest counters
// instead of growing the heap. An evicted bucket comes back full and an evicted quota at zero: the bound costs some
// accuracy for the least recently seen keys, never memory.
//
// The LRU is made at the first counter stored: lru-cache allocates its whole index up front (~28 bytes per key, 2.8
// MB at the default 100k keys), which a proxy whose table has no rate limit would carry for nothing.
import { LRUCache } from 'lru-cache';
import type { LimitCall, LimitState, TakeResult } from './limit-types.ts';
import { msUntil, tokensAt } from './token-bucket.ts';

/** A bucket's tokens at `at`, or a quota's count in window `window`. */
interface Counter {
  value: number;
  at: number;
  window: string;
}

export const DEFAULT_LOCAL_LIMIT_KEYS = 100_000;

export class LocalLimitStore {
  readonly #maxKeys: number;
  #counters: LRUCache<string, Counter> | null = null;

  constructor(maxKeys: number = DEFAULT_LOCAL_LIMIT_KEYS) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new TypeError(`maxKeys must be a positive integer, not ${maxKeys}`);
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#counters?.size ?? 0;
  }

  get maxKeys(): number {
    return this.#maxKeys;
  }

  /** Takes one unit from every counter of `calls`, or from none when any refuses. */
  take(calls: readonly LimitCall[], nowMs: number): TakeResult {
    // Read every counter first: what each reports depends on whether all of them admit (a refused take consumes none).
    const values: number[] = [];
    const found: Array<Counter | undefined> = [];
    let allowed = true;
    for (const call of calls) {
      const counter = this.#counters?.get(call.key);
      found.push(counter);
      let value: number;
      if (call.window === undefined) {
        value = counter === undefined ? call.rule.burst : tokensAt(call.rule, counter.value, counter.at, nowMs);
        if (value < 1) allowed = false;
      } else {
        value = counter !== undefined && counter.window === call.window.id ? counter.value : 0;
        if (value >= call.rule.limit) allowed = false;
      }
      values.push(value);
    }
    const states: LimitState[] = [];
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i] as LimitCall;
      const value = values[i] as number;
      if (call.window === undefined) {
        const rule = call.rule;
        const left = allowed ? value - 1 : value;
        if (allowed) this.#store(found[i], call.key, left, nowMs, '');
        states.push({ allowed: value >= 1, remaining: Math.floor(left), resetMs: msUntil(rule, left, rule.burst), retryAfterMs: value >= 1 ? 0 : msUntil(rule, value, 1) });
      } else {
        const count = allowed ? value + 1 : value;
        if (allowed) this.#store(found[i], call.key, count, nowMs, call.window.id);
        const resetMs = Math.max(0, call.window.endMs - nowMs);
        const ok = value < call.rule.limit;
        states.push({ allowed: ok, remaining: Math.max(0, call.rule.limit - count), resetMs, retryAfterMs: ok ? 0 : resetMs });
      }
    }
    return { allowed, states };
  }

  /** Gives back the unit a take consumed, when a later check refused the request (best effort: capped, never negative). */
  refund(calls: readonly LimitCall[], nowMs: number): void {
    for (const call of calls) {
      const counter = this.#counters?.get(call.key);
      if (counter === undefined) continue;
      if (call.window === undefined) {
        const tokens = tokensAt(call.rule, counter.value, counter.at, nowMs) + 1;
        this.#store(counter, call.key, tokens > call.rule.burst ? call.rule.burst : tokens, nowMs, '');
      } else if (counter.window === call.window.id && counter.value > 0) {
        counter.value--;
      }
    }
  }

  /** Writes a counter read in this call (the LRU entry itself, so no second lookup) or creates it. */
  #store(counter: Counter | undefined, key: string, value: number, at: number, window: string): void {
    if (counter === undefined) (this.#counters ??= new LRUCache({ max: this.#maxKeys })).set(key, { value, at, window });
    else {
      counter.value = value;
      counter.at = at;
      counter.window = window;
    }
  }
}

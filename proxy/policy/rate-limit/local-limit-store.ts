// The proxy's own counters: Local limits, and Global limits' fallback while Redis cannot answer. One LRU for all of
// them, bounded in entries, so a flood of distinct keys (spoofed headers, scanning clients) evicts the idlest counters
// instead of growing the heap. An evicted bucket comes back full and an evicted quota at zero: the bound costs some
// accuracy for the least recently seen keys, never memory.
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
  readonly #counters: LRUCache<string, Counter>;

  constructor(maxKeys: number = DEFAULT_LOCAL_LIMIT_KEYS) {
    this.#counters = new LRUCache({ max: maxKeys });
  }

  get size(): number {
    return this.#counters.size;
  }

  get maxKeys(): number {
    return this.#counters.max;
  }

  /** Takes one unit from every counter of `calls`, or from none when any refuses. */
  take(calls: readonly LimitCall[], nowMs: number): TakeResult {
    const states: LimitState[] = [];
    const values: number[] = [];
    let allowed = true;
    for (const call of calls) {
      const counter = this.#counters.get(call.key);
      let state: LimitState;
      if (call.window === undefined) {
        const rule = call.rule;
        const tokens = counter === undefined ? rule.burst : tokensAt(rule, counter.value, counter.at, nowMs);
        values.push(tokens);
        state =
          tokens >= 1
            ? { allowed: true, remaining: Math.floor(tokens - 1), resetMs: msUntil(rule, tokens - 1, rule.burst), retryAfterMs: 0 }
            : { allowed: false, remaining: 0, resetMs: msUntil(rule, tokens, rule.burst), retryAfterMs: msUntil(rule, tokens, 1) };
      } else {
        const count = counter !== undefined && counter.window === call.window.id ? counter.value : 0;
        values.push(count);
        const resetMs = Math.max(0, call.window.endMs - nowMs);
        state =
          count < call.rule.limit
            ? { allowed: true, remaining: call.rule.limit - count - 1, resetMs, retryAfterMs: 0 }
            : { allowed: false, remaining: 0, resetMs, retryAfterMs: resetMs };
      }
      if (!state.allowed) allowed = false;
      states.push(state);
    }
    if (allowed) {
      for (let i = 0; i < calls.length; i++) {
        const call = calls[i] as LimitCall;
        const value = values[i] as number;
        if (call.window === undefined) this.#set(call.key, value - 1, nowMs, '');
        else this.#set(call.key, value + 1, nowMs, call.window.id);
      }
    }
    return { allowed, states };
  }

  /** Gives back the unit a take consumed, when a later check refused the request (best effort: capped, never negative). */
  refund(calls: readonly LimitCall[], nowMs: number): void {
    for (const call of calls) {
      const counter = this.#counters.get(call.key);
      if (counter === undefined) continue;
      if (call.window === undefined) {
        const tokens = tokensAt(call.rule, counter.value, counter.at, nowMs) + 1;
        this.#set(call.key, tokens > call.rule.burst ? call.rule.burst : tokens, nowMs, '');
      } else if (counter.window === call.window.id && counter.value > 0) {
        counter.value--;
      }
    }
  }

  #set(key: string, value: number, at: number, window: string): void {
    const counter = this.#counters.get(key);
    if (counter === undefined) this.#counters.set(key, { value, at, window });
    else {
      counter.value = value;
      counter.at = at;
      counter.window = window;
    }
  }
}

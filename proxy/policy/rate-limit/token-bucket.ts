// A token bucket's arithmetic, shared by the proxy's own counters (local-limit-store.ts) and mirrored by the Redis
// script (redis-limit-store.ts): see limit-types.ts for the semantics.
import type { TableTokenBucket } from '../../table/table-schema.ts';

/** Tokens in a bucket last left with `tokens` at `updatedMs`, at `nowMs` (a clock that went back adds nothing). */
export function tokensAt(rule: TableTokenBucket, tokens: number, updatedMs: number, nowMs: number): number {
  const elapsed = nowMs - updatedMs;
  if (elapsed <= 0) return tokens;
  const refilled = tokens + (elapsed * rule.rate) / rule.periodMs;
  return refilled > rule.burst ? rule.burst : refilled;
}

/** Ms until a bucket holding `tokens` holds `target`. */
export function msUntil(rule: TableTokenBucket, tokens: number, target: number): number {
  return tokens >= target ? 0 : Math.ceil(((target - tokens) * rule.periodMs) / rule.rate);
}

/** The bucket's size in time: how long an empty bucket takes to fill (the RateLimit-Policy window). */
export function bucketWindowMs(rule: TableTokenBucket): number {
  return Math.ceil((rule.burst * rule.periodMs) / rule.rate);
}

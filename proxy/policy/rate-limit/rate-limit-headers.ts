// The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` lists each limit that
// applied with its quota (q) and window in seconds (w); `RateLimit` gives each one's remaining units (r) and the
// seconds until it is whole again (t). A token bucket is described as a quota of `burst` over the time an empty
// bucket takes to fill. Items are named "<RatePolicy>/<limit>" ("<RatePolicy>/<plan>/<limit>" for a plan's).
import type { TableLimit } from '../../table/table-schema.ts';
import type { LimitState } from './limit-types.ts';
import { bucketWindowMs } from './token-bucket.ts';

/** One limit's `RateLimit-Policy` item, built once per table; a quota's window is its nominal length. */
export function policyItem(name: string, limit: TableLimit): string {
  const rule = limit.rule;
  if (rule.kind === 'tokenBucket') return `"${name}";q=${rule.burst};w=${Math.max(1, Math.ceil(bucketWindowMs(rule) / 1000))}`;
  return `"${name}";q=${rule.limit};w=${QUOTA_SECONDS[rule.period]}`;
}

const QUOTA_SECONDS = { second: 1, minute: 60, hour: 3_600, day: 86_400, month: 2_592_000 } as const;

/** One limit's `RateLimit` item for this request. */
export function stateItem(name: string, state: LimitState): string {
  return `"${name}";r=${state.remaining};t=${seconds(state.resetMs)}`;
}

/** Whole seconds, rounded up (a client waiting that long is never early), at least 1 for a refusal's Retry-After. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, seconds(ms)));
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

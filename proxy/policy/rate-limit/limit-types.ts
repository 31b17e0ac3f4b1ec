// The rate-limit seam: what a throttle step asks a counter store (the proxy's own, or Redis for the fleet) and what
// it gets back. Both stores share these semantics, so a limit means the same thing in either scope:
//
// Token bucket: a bucket holds at most `burst` tokens and gains `rate` per `periodMs` (continuously); an absent
// bucket is full. A request is admitted when the bucket holds at least one token, and takes one.
// Quota: a counter per calendar window (see calendar-window.ts); admitted while the count is below `limit`.
//
// A take is all or nothing: when any counter of the call refuses, none is consumed.
import type { TableQuota, TableTokenBucket } from '../../table/table-schema.ts';

/** A calendar window of a quota: its id (e.g. "2026-11-30" in the quota's zone) and its bounds in epoch ms. */
export interface QuotaWindow {
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** One counter a request takes a unit from. */
export type LimitCall =
  | { readonly key: string; readonly rule: TableTokenBucket; readonly window?: undefined }
  | { readonly key: string; readonly rule: TableQuota; readonly window: QuotaWindow };

/** A counter's answer. For a refused take, nothing was consumed (by this counter or any other of the call). */
export interface LimitState {
  readonly allowed: boolean;
  /** Whole units left after this request: a bucket's floor(tokens), a quota's limit − count. */
  readonly remaining: number;
  /** Ms until the counter is whole again: a bucket full, a quota's window over. */
  readonly resetMs: number;
  /** When refused: ms until this counter would admit one request (a bucket's next token, a quota's next window). 0 when allowed. */
  readonly retryAfterMs: number;
}

/** A call's answer: one state per call, in order; `allowed` is true only when every counter admitted. */
export interface TakeResult {
  readonly allowed: boolean;
  readonly states: readonly LimitState[];
}

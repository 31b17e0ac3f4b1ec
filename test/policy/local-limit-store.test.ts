// The proxy's own counters (LocalLimitStore) and the token-bucket arithmetic they share with the Redis script: every
// instant is an explicit `nowMs` (no clock, no sleeps), and every state is checked against the definitions of
// limit-types.ts: remaining = a bucket's floor(tokens) / a quota's limit − count after the request, resetMs = until the
// counter is whole again, retryAfterMs = until it would admit one (0 when allowed); a take is all or nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LimitCall, LimitState, QuotaWindow } from '../../proxy/policy/rate-limit/limit-types.ts';
import { LocalLimitStore } from '../../proxy/policy/rate-limit/local-limit-store.ts';
import { bucketWindowMs, msUntil, tokensAt } from '../../proxy/policy/rate-limit/token-bucket.ts';
import type { TableQuota, TableTokenBucket } from '../../proxy/table/table-schema.ts';
import { bucket, quota } from '../e2e/helpers/rate-policies.ts';

/** 10 tokens per second: one every 100 ms. */
const TEN_PER_SECOND: TableTokenBucket = bucket(10, 1000, 10);

function b(key: string, rule: TableTokenBucket): LimitCall {
  return { key, rule };
}

function q(key: string, rule: TableQuota, window: QuotaWindow): LimitCall {
  return { key, rule, window };
}

const admitted = (remaining: number, resetMs: number): LimitState => ({ allowed: true, remaining, resetMs, retryAfterMs: 0 });
const refused = (resetMs: number, retryAfterMs: number): LimitState => ({ allowed: false, remaining: 0, resetMs, retryAfterMs });

/** Takes one call alone and returns its state. */
function takeOne(store: LocalLimitStore, call: LimitCall, nowMs: number): LimitState {
  const result = store.take([call], nowMs);
  assert.equal(result.states.length, 1);
  assert.equal(result.allowed, (result.states[0] as LimitState).allowed);
  return result.states[0] as LimitState;
}

/** How many takes in a row `call` admits at `nowMs` (stops at the first refusal, or at `cap`). */
function admitsInARow(store: LocalLimitStore, call: LimitCall, nowMs: number, cap = 1_000): number {
  let n = 0;
  while (n < cap && store.take([call], nowMs).allowed) n++;
  return n;
}

test('token-bucket arithmetic: refill at rate per periodMs capped at burst, a clock that went back adds nothing, waits rounded up', () => {
  assert.equal(tokensAt(TEN_PER_SECOND, 0, 0, 100), 1);
  assert.equal(tokensAt(TEN_PER_SECOND, 0, 0, 250), 2.5);
  assert.equal(tokensAt(TEN_PER_SECOND, 4, 1_000, 1_000), 4, 'no time, no tokens');
  assert.equal(tokensAt(TEN_PER_SECOND, 4, 1_000, 500), 4, 'a clock that went back adds nothing (and takes nothing)');
  assert.equal(tokensAt(TEN_PER_SECOND, 5, 0, 60_000), 10, 'capped at burst');
  assert.equal(tokensAt(TEN_PER_SECOND, 9.5, 0, 50), 10, 'exactly full');

  assert.equal(msUntil(TEN_PER_SECOND, 0, 1), 100);
  assert.equal(msUntil(TEN_PER_SECOND, 0.5, 1), 50);
  assert.equal(msUntil(TEN_PER_SECOND, 3, 1), 0, 'already there');
  assert.equal(msUntil(TEN_PER_SECOND, 0, 10), 1_000);
  // 3 per second: a token every 333.33 ms, so the wait is rounded up (a client waiting that long is never early).
  const three = bucket(3, 1000, 10);
  assert.equal(msUntil(three, 0, 1), 334);
  assert.ok(tokensAt(three, 0, 0, 334) >= 1 && tokensAt(three, 0, 0, 333) < 1);

  assert.equal(bucketWindowMs(TEN_PER_SECOND), 1_000);
  assert.equal(bucketWindowMs(three), 3_334);
  assert.equal(bucketWindowMs(bucket(1, 3_600_000, 5)), 18_000_000);
});

test('a bucket admits burst requests at once, then refuses; refused takes consume nothing', () => {
  const store = new LocalLimitStore();
  const call = b('k', bucket(1, 60_000, 5));
  assert.equal(admitsInARow(store, call, 1_000), 5);
  // Refusals do not dig the bucket deeper: one period later exactly one token is back.
  for (let i = 0; i < 10; i++) assert.equal(takeOne(store, call, 1_000).allowed, false);
  assert.equal(takeOne(store, call, 60_999).allowed, false);
  assert.deepEqual(takeOne(store, call, 61_000), admitted(0, 300_000));
  assert.equal(takeOne(store, call, 61_000).allowed, false);
  // Other keys have their own buckets.
  assert.equal(admitsInARow(store, b('other', bucket(1, 60_000, 5)), 1_000), 5);
});

test('a bucket refills at its rate: 10 per 1000 ms gives one more token after 100 ms, and never more than burst', () => {
  const store = new LocalLimitStore();
  const call = b('k', TEN_PER_SECOND);
  assert.equal(admitsInARow(store, call, 0), 10);
  assert.equal(takeOne(store, call, 99).allowed, false, '0.99 of a token is not one');
  assert.equal(takeOne(store, call, 100).allowed, true);
  assert.equal(takeOne(store, call, 100).allowed, false);
  // 350 ms later: 3.5 tokens, so three admitted.
  assert.equal(admitsInARow(store, call, 450), 3);
  // An hour idle fills the bucket to burst, not to 36,000.
  assert.equal(admitsInARow(store, call, 3_600_450), 10);
});

test('bucket states: remaining, resetMs and retryAfterMs exactly as limit-types.ts defines them', () => {
  const store = new LocalLimitStore();
  // 2 tokens per 3000 ms (one every 1500 ms), burst 4: an empty bucket fills in 6000 ms.
  const call = b('k', bucket(2, 3_000, 4));
  // Absent means full: 4 tokens, one taken, 3 left, full again once 1 token is back.
  assert.deepEqual(takeOne(store, call, 0), admitted(3, 1_500));
  assert.deepEqual(takeOne(store, call, 0), admitted(2, 3_000));
  // 750 ms: 2.5 tokens, 1.5 after the take → remaining floor(1.5) = 1, full in 2.5 tokens = 3750 ms.
  assert.deepEqual(takeOne(store, call, 750), admitted(1, 3_750));
  assert.deepEqual(takeOne(store, call, 750), admitted(0, 5_250));
  // 0.5 tokens left: refused, nothing taken; one token in 750 ms, full in 3.5 tokens = 5250 ms.
  assert.deepEqual(takeOne(store, call, 750), refused(5_250, 750));
  // 1500: 0.5 + 750·2/3000 = 1 token → taken → empty, full in 6000 ms.
  assert.deepEqual(takeOne(store, call, 1_500), admitted(0, 6_000));
  // 2250: 0.5 → refused; the next token in 750 ms.
  assert.deepEqual(takeOne(store, call, 2_250), refused(5_250, 750));
  assert.deepEqual(takeOne(store, call, 3_000), admitted(0, 6_000));
  assert.deepEqual(takeOne(store, call, 3_000), refused(6_000, 1_500));
});

test('quota: counted per window id, remaining = limit − count, reset at the window end; a new window id starts at 0', () => {
  const store = new LocalLimitStore();
  const rule = quota(3, 'minute');
  const w1: QuotaWindow = { id: '2026-03-10T12:00', startMs: 60_000, endMs: 120_000 };
  const w2: QuotaWindow = { id: '2026-03-10T12:01', startMs: 120_000, endMs: 180_000 };
  assert.deepEqual(takeOne(store, q('k', rule, w1), 70_000), admitted(2, 50_000));
  assert.deepEqual(takeOne(store, q('k', rule, w1), 80_000), admitted(1, 40_000));
  assert.deepEqual(takeOne(store, q('k', rule, w1), 90_000), admitted(0, 30_000));
  // Refused until the window is over: the retry is the reset.
  assert.deepEqual(takeOne(store, q('k', rule, w1), 100_000), refused(20_000, 20_000));
  assert.deepEqual(takeOne(store, q('k', rule, w1), 119_999), refused(1, 1));
  // The next window is a new counter, whatever the clock says inside the old one.
  assert.deepEqual(takeOne(store, q('k', rule, w2), 120_000), admitted(2, 60_000));
  assert.equal(admitsInARow(store, q('k', rule, w2), 130_000), 2);
  assert.equal(takeOne(store, q('k', rule, w2), 130_000).allowed, false);
  // Another key: its own count.
  assert.deepEqual(takeOne(store, q('other', rule, w2), 130_000), admitted(2, 50_000));
  // A clock past the window's end (a stale window) never reports a negative reset.
  assert.deepEqual(takeOne(store, q('late', rule, w1), 125_000), admitted(2, 0));
});

test('a take is all or nothing: with one counter exhausted, the others of the call are not consumed', () => {
  const store = new LocalLimitStore();
  const a = b('a', bucket(1, 60_000, 2));
  const z = b('z', bucket(1, 60_000, 1));
  const window: QuotaWindow = { id: 'd1', startMs: 0, endMs: 86_400_000 };
  const daily = q('d', quota(3, 'day'), window);

  const first = store.take([a, z, daily], 1_000);
  assert.equal(first.allowed, true);
  assert.deepEqual(first.states, [admitted(1, 60_000), admitted(0, 60_000), admitted(2, 86_399_000)]);

  // z is empty now: the call is refused and z's state says why.
  for (let i = 0; i < 3; i++) {
    const again = store.take([a, z, daily], 1_000);
    assert.equal(again.allowed, false);
    assert.equal(again.states.length, 3);
    assert.deepEqual(again.states[1], refused(60_000, 60_000));
  }
  // a and the quota were untouched by the three refused calls: a still has 1 token, the quota 2 units.
  assert.deepEqual(takeOne(store, a, 1_000), admitted(0, 120_000));
  assert.equal(takeOne(store, a, 1_000).allowed, false);
  assert.deepEqual(takeOne(store, daily, 1_000), admitted(1, 86_399_000));
  assert.deepEqual(takeOne(store, daily, 1_000), admitted(0, 86_399_000));
  assert.equal(takeOne(store, daily, 1_000).allowed, false);
  // And z refills on its own schedule.
  assert.deepEqual(takeOne(store, z, 61_000), admitted(0, 60_000));
});

// Regression: take() once computed the state of a counter that would admit as if its unit were taken (remaining
// floor(tokens − 1) / limit − count − 1) before knowing the verdict, so a refused call under-reported the others by one
// unit, unlike the Redis script (redis-limit-store.ts), which answers floor(tokens) / limit − count for them.
test('a refused take reports the counters that would admit as they are, nothing taken (as the Redis script does)', () => {
  const store = new LocalLimitStore();
  const a = b('a', bucket(1, 60_000, 3));
  const z = b('z', bucket(1, 60_000, 1));
  const window: QuotaWindow = { id: 'd1', startMs: 0, endMs: 86_400_000 };
  const daily = q('d', quota(5, 'day'), window);
  assert.equal(store.take([a, z, daily], 0).allowed, true); // a: 2 tokens left, z: 0, daily: count 1
  const refusedCall = store.take([a, z, daily], 0);
  assert.equal(refusedCall.allowed, false);
  assert.deepEqual(refusedCall.states, [
    { allowed: true, remaining: 2, resetMs: 60_000, retryAfterMs: 0 },
    refused(60_000, 60_000),
    { allowed: true, remaining: 4, resetMs: 86_400_000, retryAfterMs: 0 },
  ]);
});

test('refund gives one unit back, capped at burst; a quota refund decrements within its window, never below 0', () => {
  const store = new LocalLimitStore();
  const call = b('k', bucket(1, 60_000, 3));
  assert.equal(admitsInARow(store, call, 0), 3);
  store.refund([call], 0);
  assert.deepEqual(takeOne(store, call, 0), admitted(0, 180_000), 'the refunded token is there');
  assert.equal(takeOne(store, call, 0).allowed, false);

  // Capped: one taken from a full bucket, two refunded → full (3), not 4.
  const capped = b('capped', bucket(1, 60_000, 3));
  assert.deepEqual(takeOne(store, capped, 0), admitted(2, 60_000));
  store.refund([capped], 0);
  store.refund([capped], 0);
  assert.equal(admitsInARow(store, capped, 0), 3);

  // Refund includes the refill since the take: 30 s after emptying, 0.5 + 1 token.
  const refill = b('refill', bucket(1, 60_000, 3));
  assert.equal(admitsInARow(store, refill, 0), 3);
  store.refund([refill], 30_000);
  assert.deepEqual(takeOne(store, refill, 30_000), admitted(0, 150_000));
  assert.deepEqual(takeOne(store, refill, 30_000), refused(150_000, 30_000));

  // A counter the store does not hold (never taken, or evicted) is full already: nothing is created.
  const sizeBefore = store.size;
  store.refund([b('never-taken', bucket(1, 60_000, 3))], 0);
  assert.equal(store.size, sizeBefore);

  const rule = quota(2, 'day');
  const w1: QuotaWindow = { id: 'w1', startMs: 0, endMs: 1_000_000 };
  const w2: QuotaWindow = { id: 'w2', startMs: 1_000_000, endMs: 2_000_000 };
  assert.equal(admitsInARow(store, q('quota', rule, w1), 10), 2);
  store.refund([q('quota', rule, w1)], 20);
  assert.deepEqual(takeOne(store, q('quota', rule, w1), 30), admitted(0, 999_970));
  assert.equal(takeOne(store, q('quota', rule, w1), 30).allowed, false);
  // A refund for another window than the counter's is ignored.
  store.refund([q('quota', rule, w2)], 40);
  assert.equal(takeOne(store, q('quota', rule, w1), 50).allowed, false);
  // Never below 0: one taken, three refunded → 0 → the limit of 2 still holds.
  assert.equal(takeOne(store, q('quota', rule, w2), 1_000_000).allowed, true);
  for (let i = 0; i < 3; i++) store.refund([q('quota', rule, w2)], 1_000_000);
  assert.equal(admitsInARow(store, q('quota', rule, w2), 1_000_000), 2);
});

test('bounded: 100,000 distinct keys into a store of 10,000 keep at most 10,000 counters and a bounded heap', (t) => {
  const store = new LocalLimitStore(10_000);
  assert.equal(store.maxKeys, 10_000);
  const rule = bucket(1, 60_000, 5);
  const gc = (globalThis as { gc?: () => void }).gc;
  // Warm up to the bound first, so the measurement sees replacement, not the first fill.
  for (let i = 0; i < 10_000; i++) store.take([{ key: `warm-${i}`, rule }], 0);
  assert.equal(store.size, 10_000);
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) {
    const result = store.take([{ key: `203.0.113.${i % 256}|spoofed-${i}`, rule }], i);
    // Every key is new: a full bucket each time, whatever was evicted.
    if (!result.allowed || (result.states[0] as LimitState).remaining !== 4) assert.fail(`key ${i} was not a fresh bucket`);
    if (store.size > 10_000) assert.fail(`size ${store.size} over the bound after ${i + 1} keys`);
  }
  assert.equal(store.size, 10_000);
  if (gc !== undefined) {
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // 100,000 counters kept would be well over 10 MB (key string, counter object, map entry each); 10,000 replaced
    // ones are the same size as the 10,000 they replaced.
    assert.ok(grown < 4 * 1024 * 1024, `heap grew by ${grown} bytes for a store bounded at 10,000 keys`);
  } else {
    t.diagnostic('heap growth not measured: run with --expose-gc to check it');
  }
});

test('eviction: the least recently used counter goes first, and an evicted bucket comes back full', () => {
  const store = new LocalLimitStore(2);
  const rule = bucket(1, 3_600_000, 3);
  assert.equal(admitsInARow(store, b('a', rule), 0), 3);
  assert.equal(admitsInARow(store, b('b', rule), 0), 3);
  // Touching a makes b the least recently used: c evicts b.
  assert.equal(takeOne(store, b('a', rule), 0).allowed, false);
  assert.equal(takeOne(store, b('c', rule), 0).allowed, true);
  assert.equal(store.size, 2);
  assert.deepEqual(takeOne(store, b('b', rule), 0), admitted(2, 3_600_000), 'b evicted: a full bucket again');
  // That evicted a (least recent after c and b): it comes back full too.
  assert.deepEqual(takeOne(store, b('a', rule), 0), admitted(2, 3_600_000));
  assert.equal(store.size, 2);
});

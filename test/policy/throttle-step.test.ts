// The throttle step of a route (ThrottleStep) over policies built by buildRatePolicies, with a fake clock (a mutable
// `now` as the env's clock) and the proxy's real LocalLimitStore: request keys (the shared "unknown" value, one bucket
// per consumer), several limits and policies (the most restrictive decides, the longest wait is the Retry-After, a
// refused request takes nothing), usage plans, the RateLimit fields against the bucket math, the header modes, and a
// route whose policy is missing.
//
// Global limits here run against a scripted GlobalLimitStore: it stands in for Redis only to test the step's
// orchestration around it (the Open fallback sized to the fleet, Closed → 503, refunds when a later check refuses,
// the remembered refusal answering without a round trip). What Redis itself does with a take (the script's bucket and
// quota semantics, atomicity, expiry, fairness across proxies) is tested against a real Redis elsewhere:
// test/policy/redis-limit-store.test.ts and the fleet test.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Consumer, PolicyContext, StepOutcome } from '../../proxy/policy/policy-types.ts';
import { NO_AUTH_METRICS } from '../../proxy/policy/policy-types.ts';
import type { LimitCall, LimitState, TakeResult } from '../../proxy/policy/rate-limit/limit-types.ts';
import { rateLimitEnvFor, type GlobalLimitStore, type LimitInstruments, type RateLimitEnv, type RateLimitMetrics } from '../../proxy/policy/rate-limit/rate-limit-env.ts';
import { buildRatePolicies, NO_RATE_POLICIES, type BuiltRatePolicy, type RatePolicySet } from '../../proxy/policy/rate-limit/rate-policy-set.ts';
import { ThrottleStep } from '../../proxy/policy/rate-limit/throttle-step.ts';
import { buildRoutePolicy } from '../../proxy/policy/route-policy.ts';
import type { TableRatePolicy } from '../../proxy/table/table-schema.ts';
import { bucket, byClientIp, byConsumer, HOUR_MS, limit, quota, ratePolicy } from '../e2e/helpers/rate-policies.ts';
import { route } from '../e2e/helpers/tables.ts';

/** A Tuesday noon, UTC: the day's quota window ends in exactly 12 h, the hour's in 1 h. */
const T0 = Date.parse('2026-03-10T12:00:00.000Z');
const RULE = 'test/api/r0';

// --- the harness ------------------------------------------------------------------------------------------------

interface RecordingMetrics extends RateLimitMetrics {
  /** "<policy> <limit> <allowed|limited|fallback>", "store-error <policy>", "unavailable <policy>". */
  events: string[];
  count(event: string): number;
}

function recordingMetrics(): RecordingMetrics {
  const events: string[] = [];
  return {
    events,
    count: (event) => events.filter((e) => e === event).length,
    limit: (policy, name): LimitInstruments => ({
      allowed: () => void events.push(`${policy} ${name} allowed`),
      limited: () => void events.push(`${policy} ${name} limited`),
      fallback: () => void events.push(`${policy} ${name} fallback`),
    }),
    storeError: (policy) => void events.push(`store-error ${policy}`),
    storeLatency: () => {},
    storeUnavailable: (policy) => void events.push(`unavailable ${policy}`),
  };
}

/** A scripted fleet store: answers what the test says, records what it was asked. Not Redis (see the top comment). */
class ScriptedStore implements GlobalLimitStore {
  up = true;
  readonly takes: Array<{ tag: string; calls: readonly LimitCall[] }> = [];
  readonly refunds: Array<{ tag: string; calls: readonly LimitCall[] }> = [];
  /** The answer to a take; 'error' rejects it as a Redis timeout would. Default: every counter admits. */
  answer: (tag: string, calls: readonly LimitCall[]) => TakeResult | 'error' = (_tag, calls) => ({ allowed: true, states: calls.map(() => ADMIT) });

  available(): boolean {
    return this.up;
  }

  take(tag: string, calls: readonly LimitCall[]): Promise<TakeResult> {
    this.takes.push({ tag, calls });
    const answer = this.answer(tag, calls);
    return answer === 'error' ? Promise.reject(new Error('command timed out')) : Promise.resolve(answer);
  }

  refund(tag: string, calls: readonly LimitCall[]): Promise<void> {
    this.refunds.push({ tag, calls });
    return Promise.resolve();
  }

  readonly outcomes: boolean[] = [];
  settled(ok: boolean): void {
    this.outcomes.push(ok);
  }
}

const ADMIT: LimitState = { allowed: true, remaining: 9, resetMs: HOUR_MS, retryAfterMs: 0 };
const refuseFor = (retryAfterMs: number): LimitState => ({ allowed: false, remaining: 0, resetMs: HOUR_MS, retryAfterMs });

interface Harness {
  env: RateLimitEnv;
  metrics: RecordingMetrics;
  policies: RatePolicySet;
  /** The fake clock: the env reads it on every request. */
  clock: { now: number };
  /** The throttle step of a route rule naming these policies. */
  step(ids: string[], rule?: string): ThrottleStep;
}

function harness(configs: TableRatePolicy[], global: GlobalLimitStore | null = null): Harness {
  const clock = { now: T0 };
  const metrics = recordingMetrics();
  const env = rateLimitEnvFor({ clock: () => clock.now, logger: pino({ level: 'silent' }), metrics, global });
  const policies = buildRatePolicies(configs, NO_RATE_POLICIES, env);
  const step = (ids: string[], rule = RULE): ThrottleStep => {
    const built = ids.map((id) => policies.get(id));
    if (built.some((p) => p === undefined)) throw new Error(`no policy among ${ids.join(', ')}`);
    return new ThrottleStep(built as BuiltRatePolicy[], rule, env);
  };
  return { env, metrics, policies, clock, step };
}

interface CallerOptions {
  ip?: string;
  headers?: IncomingHttpHeaders;
  consumer?: Consumer | null;
  responseHeaders?: Array<[string, string]> | null;
}

/** A request's policy context, built as test/policy/jwt-fixtures.ts builds one. */
function context(opts: CallerOptions = {}): PolicyContext {
  return {
    req: { headers: opts.headers ?? {} } as IncomingMessage,
    routeId: `${RULE}/m0`,
    requestId: 'req-1',
    method: 'GET',
    path: '/orders',
    query: '',
    host: 'shop.test',
    clientIp: opts.ip ?? '203.0.113.5',
    consumer: opts.consumer ?? null,
    upstreamHeaders: null,
    responseHeaders: opts.responseHeaders ?? null,
  };
}

function consumer(name: string, plan?: string, authorizer = 'test/keys'): Consumer {
  return { name, authorizer, plan, claims: {} };
}

/** Runs the step, requiring a synchronous answer (no Global limit asked the store). */
function runNow(step: ThrottleStep, ctx: PolicyContext): StepOutcome {
  const outcome = step.run(ctx);
  assert.ok(!(outcome instanceof Promise), 'expected a synchronous answer');
  return outcome;
}

/** Runs the step, requiring it to wait for the store. */
async function runAsync(step: ThrottleStep, ctx: PolicyContext): Promise<StepOutcome> {
  const outcome = step.run(ctx);
  assert.ok(outcome instanceof Promise, 'expected the step to ask the store');
  return outcome;
}

/** How many requests in a row the step admits (synchronously) for this caller, stopping at the first refusal. */
function admitsInARow(step: ThrottleStep, opts: CallerOptions = {}, cap = 100): number {
  let n = 0;
  while (n < cap && runNow(step, context(opts)) === null) n++;
  return n;
}

/** The step's refusal, which must be a 429. */
function limited(outcome: StepOutcome): Record<string, string> {
  assert.notEqual(outcome, null, 'expected a refusal');
  assert.equal(outcome?.status, 429, JSON.stringify(outcome));
  assert.equal(outcome?.error, 'too many requests');
  assert.equal(outcome?.reason, 'limited');
  return outcome?.headers ?? {};
}

/** The RateLimit fields an admitted request's response gets. */
function admittedFields(step: ThrottleStep, opts: CallerOptions = {}): Record<string, string> | null {
  const ctx = context(opts);
  assert.equal(runNow(step, ctx), null, 'expected the request to be admitted');
  return ctx.responseHeaders === null ? null : Object.fromEntries(ctx.responseHeaders);
}

// --- the tests ----------------------------------------------------------------------------------------------------

test('a route whose RatePolicy is not in the table answers 500, even when its other policies are', () => {
  const h = harness([ratePolicy('test/present', [limit('per-ip', byClientIp, bucket(1, HOUR_MS, 100))])]);
  const missing = new ThrottleStep(null, RULE, h.env);
  const denial = { status: 500, error: 'rate policy unavailable', reason: 'unavailable' };
  assert.deepEqual(runNow(missing, context()), denial);

  // As the route policy builds it: one of two ids missing fails the whole step closed.
  const policy = buildRoutePolicy(route('r', '/', ['be'], { ratePolicies: ['test/present', 'test/absent'] }), { authorizers: new Map(), ratePolicies: h.policies }, NO_AUTH_METRICS, h.env);
  assert.equal(policy?.steps.length, 1);
  const ctx = context();
  assert.deepEqual(runNow(policy?.steps[0] as ThrottleStep, ctx), denial);
  assert.equal(ctx.responseHeaders, null);
  assert.deepEqual(h.metrics.events, [], 'nothing counted, nothing taken');
  assert.equal(h.env.local.size, 0);
  // Both present: the step throttles.
  const both = buildRoutePolicy(route('r', '/', ['be'], { ratePolicies: ['test/present'] }), { authorizers: new Map(), ratePolicies: h.policies }, NO_AUTH_METRICS, h.env);
  assert.equal(runNow(both?.steps[0] as ThrottleStep, context()), null);
});

test('a key part the request lacks (no such header, an anonymous caller) takes the one shared "unknown" counter', () => {
  const h = harness([
    ratePolicy('test/tenants', [limit('per-tenant', [{ type: 'header', name: 'x-tenant' }], bucket(1, HOUR_MS, 2))]),
    ratePolicy('test/consumers', [limit('per-consumer', byConsumer, bucket(1, HOUR_MS, 2))]),
  ]);
  const tenants = h.step(['test/tenants']);
  // No header, from any address: one counter between them.
  assert.equal(runNow(tenants, context({ ip: '198.51.100.1' })), null);
  assert.equal(runNow(tenants, context({ ip: '198.51.100.2' })), null);
  limited(runNow(tenants, context({ ip: '198.51.100.3' })));
  // A tenant that is named has its own; so has a tenant literally named "?" (present values cannot be "unknown").
  assert.equal(admitsInARow(tenants, { headers: { 'x-tenant': 'acme' } }), 2);
  assert.equal(admitsInARow(tenants, { headers: { 'x-tenant': '?' } }), 2);
  assert.equal(admitsInARow(tenants, { headers: { 'x-tenant': '' } }), 2, 'an empty value is present');

  const consumers = h.step(['test/consumers']);
  assert.equal(admitsInARow(consumers, { consumer: null, ip: '198.51.100.1' }), 2);
  limited(runNow(consumers, context({ consumer: null, ip: '198.51.100.9' })));
  assert.equal(admitsInARow(consumers, { consumer: consumer('alice') }), 2);
});

test('a Consumer key gives each consumer its own bucket (per authorizer)', () => {
  const h = harness([ratePolicy('test/consumers', [limit('per-consumer', byConsumer, bucket(1, HOUR_MS, 3))])]);
  const step = h.step(['test/consumers']);
  assert.equal(admitsInARow(step, { consumer: consumer('alice') }), 3);
  limited(runNow(step, context({ consumer: consumer('alice'), ip: '198.51.100.77' })));
  assert.equal(admitsInARow(step, { consumer: consumer('bob') }), 3);
  assert.equal(admitsInARow(step, { consumer: consumer('alice', undefined, 'test/jwt') }), 3, 'another authorizer\'s "alice" is someone else');
  assert.equal(h.metrics.count('test/consumers per-consumer allowed'), 9);
  assert.equal(h.metrics.count('test/consumers per-consumer limited'), 4, 'each run of admissions ends with one refusal, plus the one from another address');
});

test('a JWTClaim key counts per verified claim value: callers of one org share, a caller without the claim takes the unknown bucket', () => {
  const h = harness([ratePolicy('test/orgs', [limit('per-org', [{ type: 'claim', name: 'org' }], bucket(1, HOUR_MS, 2))])]);
  const step = h.step(['test/orgs']);
  const withClaims = (name: string, claims: Record<string, unknown>): Consumer => ({ name, authorizer: 'test/jwt', plan: undefined, claims });
  assert.equal(admitsInARow(step, { consumer: withClaims('alice', { org: 'acme' }) }), 2);
  limited(runNow(step, context({ consumer: withClaims('bob', { org: 'acme' }) }))); // the same org, another user
  assert.equal(admitsInARow(step, { consumer: withClaims('carol', { org: 'globex' }) }), 2);
  assert.equal(admitsInARow(step, { consumer: withClaims('dave', { org: 42 }) }), 2, 'a number claim is a value too');
  // No claim, a claim that is not a scalar, no consumer at all: one shared "unknown" bucket, never unlimited.
  assert.equal(admitsInARow(step, { consumer: withClaims('erin', {}) }), 2);
  limited(runNow(step, context({ consumer: withClaims('frank', { org: ['acme', 'globex'] }) })));
  limited(runNow(step, context({ consumer: null })));
});

test('a Route key counts per ApiRoute rule; without it, every route naming the policy shares the counter', () => {
  const h = harness([
    ratePolicy('test/per-route', [limit('per-route', [{ type: 'clientIp' }, { type: 'route' }], bucket(1, HOUR_MS, 2))]),
    ratePolicy('test/shared', [limit('per-ip', byClientIp, bucket(1, HOUR_MS, 3))]),
  ]);
  assert.equal(admitsInARow(h.step(['test/per-route'], 'test/a/r0')), 2);
  assert.equal(admitsInARow(h.step(['test/per-route'], 'test/b/r0')), 2);
  assert.equal(admitsInARow(h.step(['test/per-route'], 'test/a/r1')), 2);
  // The same policy in steps of two routes: 3 in all, not 3 each.
  const a = h.step(['test/shared'], 'test/a/r0');
  const b = h.step(['test/shared'], 'test/b/r0');
  assert.equal(runNow(a, context()), null);
  assert.equal(runNow(b, context()), null);
  assert.equal(runNow(a, context()), null);
  limited(runNow(b, context()));
  limited(runNow(a, context()));
});

test('several limits: the most restrictive decides, and a refused request takes nothing from the others', () => {
  const h = harness([
    ratePolicy('test/multi', [
      limit('short', byClientIp, bucket(1, 10_000, 2)), // a token every 10 s
      limit('long', byClientIp, bucket(1, 8_000, 4)), // a token every 8 s
      limit('daily', byClientIp, quota(100, 'day')),
    ]),
    ratePolicy('test/other', [limit('per-ip', byClientIp, bucket(1, 10_000, 10))]),
  ]);
  const step = h.step(['test/multi', 'test/other']);
  assert.equal(admitsInARow(step), 2);
  // short is empty (its next token in 10 s); long and daily would admit, test/other too.
  for (let i = 0; i < 5; i++) assert.equal(limited(runNow(step, context()))['retry-after'], '10');
  assert.equal(h.metrics.count('test/multi short limited'), 6, 'the refusal that ended the burst, then five');
  assert.equal(h.metrics.count('test/multi long limited'), 0);
  assert.equal(h.metrics.count('test/multi daily limited'), 0);
  assert.equal(h.metrics.count('test/other per-ip limited'), 0);

  // 10 s on: short has one token; long 2 + 1.25 (none was taken by the six refusals), daily 2 used, other 8 + 1.
  h.clock.now = T0 + 10_000;
  const fields = admittedFields(step);
  assert.deepEqual(fields, {
    'ratelimit-policy': '"multi/short";q=2;w=20, "multi/long";q=4;w=32, "multi/daily";q=100;w=86400, "other/per-ip";q=10;w=100',
    // long: 3.25 − 1 = 2.25 → r=2, full in 1.75 × 8 s = 14 s; daily: 100 − 3, its day ends in 12 h − 10 s.
    ratelimit: '"multi/short";r=0;t=20, "multi/long";r=2;t=14, "multi/daily";r=97;t=43190, "other/per-ip";r=8;t=20',
  });
  assert.equal(h.metrics.count('test/other per-ip allowed'), 3);
});

test('several limits refusing: Retry-After is the longest of their waits, in whole seconds rounded up', () => {
  const h = harness([
    ratePolicy('test/both', [
      limit('fast', byClientIp, bucket(1, 5_000, 1)),
      limit('slow', byClientIp, bucket(1, 40_000, 1)),
      limit('roomy', byClientIp, bucket(1, 1_000, 10)),
    ]),
    ratePolicy('test/daily', [limit('quota', byClientIp, quota(2, 'day'))]),
  ]);
  const step = h.step(['test/both']);
  assert.equal(runNow(step, context()), null);
  // fast waits 5 s, slow 40 s: 40.
  assert.equal(limited(runNow(step, context()))['retry-after'], '40');
  assert.equal(h.metrics.count('test/both fast limited'), 1);
  assert.equal(h.metrics.count('test/both slow limited'), 1);
  assert.equal(h.metrics.count('test/both roomy limited'), 0);
  // 5 s on, fast has its token; slow has 1/8 and needs 35 s more.
  h.clock.now = T0 + 5_000;
  assert.equal(limited(runNow(step, context()))['retry-after'], '35');
  // 1 ms short of a token still says 1 s (rounded up, never 0).
  h.clock.now = T0 + 39_999;
  assert.equal(limited(runNow(step, context()))['retry-after'], '1');
  h.clock.now = T0 + 40_000;
  assert.equal(runNow(step, context()), null);

  // A quota refuses until its calendar window ends: the day ends at midnight UTC, 12 h after T0.
  const daily = h.step(['test/daily']);
  h.clock.now = T0;
  assert.equal(admitsInARow(daily), 2);
  assert.equal(limited(runNow(daily, context()))['retry-after'], '43200');
  h.clock.now = Date.parse('2026-03-11T00:00:00.000Z');
  assert.equal(runNow(daily, context()), null);
});

// Regression: the Local store once reported the limits that would have admitted as if their unit had been taken (long
// r=1;t=24, daily r=97) although a refused request takes nothing; Redis reports them untouched, and so must it.
test('a 429 carries RateLimit items for every limit, the ones that did not refuse as they are', () => {
  const h = harness([
    ratePolicy('test/multi', [limit('short', byClientIp, bucket(1, 10_000, 2)), limit('long', byClientIp, bucket(1, 8_000, 4)), limit('daily', byClientIp, quota(100, 'day'))]),
  ]);
  const step = h.step(['test/multi']);
  assert.equal(admitsInARow(step), 2);
  assert.deepEqual(limited(runNow(step, context())), {
    'retry-after': '10',
    'ratelimit-policy': '"multi/short";q=2;w=20, "multi/long";q=4;w=32, "multi/daily";q=100;w=86400',
    // short: empty, full in 20 s; long: 2 tokens untaken, full in 16 s; daily: 2 of 100 used, 12 h to go.
    ratelimit: '"multi/short";r=0;t=20, "multi/long";r=2;t=16, "multi/daily";r=98;t=43200',
  });
});

test('plans: a consumer of a listed plan gets the base limits and its plan\'s; an unknown plan or none gets defaultPlan\'s', () => {
  const base = limit('base', byConsumer, bucket(1, HOUR_MS, 100));
  const plans = (id: string, defaultPlan?: string): TableRatePolicy =>
    ratePolicy(id, [base], {
      plans: [
        { name: 'free', limits: [limit('throttle', byConsumer, bucket(1, HOUR_MS, 2))] },
        { name: 'paid', limits: [limit('throttle', byConsumer, bucket(1, HOUR_MS, 5))] },
      ],
      ...(defaultPlan !== undefined && { defaultPlan }),
    });
  const h = harness([plans('test/plans', 'free'), plans('test/nodefault')]);
  const step = h.step(['test/plans']);
  const BASE = '"plans/base";q=100;w=360000';

  const paid = consumer('alice', 'paid');
  assert.equal(admittedFields(step, { consumer: paid })?.['ratelimit-policy'], `${BASE}, "plans/paid/throttle";q=5;w=18000`);
  assert.equal(admitsInARow(step, { consumer: paid }), 4);
  limited(runNow(step, context({ consumer: paid })));
  assert.equal(h.metrics.count('test/plans paid/throttle limited'), 2);
  assert.equal(h.metrics.count('test/plans base limited'), 0);

  // Unknown plan, no plan, anonymous: the default plan's limits (each with its own counter for a named consumer).
  for (const who of [consumer('bob', 'gold'), consumer('carol'), null]) {
    assert.equal(admittedFields(step, { consumer: who })?.['ratelimit-policy'], `${BASE}, "plans/free/throttle";q=2;w=7200`, String(who?.name));
    assert.equal(admitsInARow(step, { consumer: who }), 1, String(who?.name));
    limited(runNow(step, context({ consumer: who })));
  }
  assert.equal(h.metrics.count('test/plans free/throttle limited'), 6);

  // No defaultPlan: those callers get the base limits only; a listed plan still adds its own.
  const bare = h.step(['test/nodefault']);
  for (const who of [consumer('bob', 'gold'), consumer('carol'), null]) {
    assert.deepEqual(admittedFields(bare, { consumer: who }), { 'ratelimit-policy': '"nodefault/base";q=100;w=360000', ratelimit: '"nodefault/base";r=99;t=3600' }, String(who?.name));
  }
  assert.equal(admitsInARow(bare, { consumer: consumer('dave') }, 200), 100);
  assert.equal(admittedFields(bare, { consumer: consumer('erin', 'free') })?.['ratelimit-policy'], '"nodefault/base";q=100;w=360000, "nodefault/free/throttle";q=2;w=7200');
});

test('RateLimit-Policy and RateLimit values follow the bucket and quota math exactly (q, w, r, t)', () => {
  const h = harness([
    // 2 tokens per 3 s (one every 1.5 s), burst 4: the policy's window is the 6 s an empty bucket takes to fill.
    ratePolicy('test/hdr', [limit('per-ip', byClientIp, bucket(2, 3_000, 4))]),
    ratePolicy('test/hourly', [limit('per-ip', byClientIp, quota(3, 'hour'))]),
  ]);
  const step = h.step(['test/hdr']);
  const POLICY = '"hdr/per-ip";q=4;w=6';
  const at = (r: number, t: number) => ({ 'ratelimit-policy': POLICY, ratelimit: `"hdr/per-ip";r=${r};t=${t}` });
  assert.deepEqual(admittedFields(step), at(3, 2)); // 3 left, full in 1.5 s → 2
  assert.deepEqual(admittedFields(step), at(2, 3)); // full in 3 s
  h.clock.now = T0 + 1_500; // one token back: 3
  assert.deepEqual(admittedFields(step), at(2, 3));
  assert.deepEqual(admittedFields(step), at(1, 5)); // 4.5 s → 5
  assert.deepEqual(admittedFields(step), at(0, 6));
  assert.deepEqual(runNow(step, context()), {
    status: 429,
    error: 'too many requests',
    reason: 'limited',
    headers: { 'retry-after': '2', 'ratelimit-policy': POLICY, ratelimit: '"hdr/per-ip";r=0;t=6' },
  });
  h.clock.now = T0 + 2_250; // half a token: the next one in 750 ms → 1 s
  assert.equal(limited(runNow(step, context()))['retry-after'], '1');

  // A quota: q is its limit, w the period's nominal length, t the seconds left in the calendar window.
  const hourly = h.step(['test/hourly']);
  h.clock.now = T0 + 1_234;
  assert.deepEqual(admittedFields(hourly), { 'ratelimit-policy': '"hourly/per-ip";q=3;w=3600', ratelimit: '"hourly/per-ip";r=2;t=3599' });

  // Fields an earlier step added stay; the step's come after them.
  const ctx = context({ ip: '198.51.100.20', responseHeaders: [['x-earlier', '1']] });
  assert.equal(runNow(step, ctx), null);
  assert.deepEqual(ctx.responseHeaders, [
    ['x-earlier', '1'],
    ['ratelimit-policy', POLICY],
    ['ratelimit', '"hdr/per-ip";r=3;t=2'],
  ]);
});

test('header modes: "limited" shows the RateLimit fields on 429s only, "never" shows none (Retry-After still on 429s)', () => {
  const h = harness([
    ratePolicy('test/lim', [limit('per-ip', byClientIp, bucket(1, HOUR_MS, 1))], { headers: 'limited' }),
    ratePolicy('test/never', [limit('per-ip', byClientIp, bucket(1, HOUR_MS, 1))], { headers: 'never' }),
    ratePolicy('test/always', [limit('per-ip', byClientIp, bucket(1, HOUR_MS, 5))]),
  ]);
  const lim = h.step(['test/lim']);
  assert.equal(admittedFields(lim), null);
  assert.deepEqual(limited(runNow(lim, context())), { 'retry-after': '3600', 'ratelimit-policy': '"lim/per-ip";q=1;w=3600', ratelimit: '"lim/per-ip";r=0;t=3600' });

  const never = h.step(['test/never']);
  assert.equal(admittedFields(never), null);
  assert.deepEqual(limited(runNow(never, context())), { 'retry-after': '3600' });

  // Mixed on one route: each policy's mode decides for its own items.
  const mixed = h.step(['test/never', 'test/always', 'test/lim'], 'test/mixed/r0');
  const ip = '198.51.100.30';
  assert.deepEqual(admittedFields(mixed, { ip }), { 'ratelimit-policy': '"always/per-ip";q=5;w=18000', ratelimit: '"always/per-ip";r=4;t=3600' });
  const refused = limited(runNow(mixed, context({ ip })));
  assert.equal(refused['retry-after'], '3600');
  assert.equal(refused['ratelimit-policy'], '"always/per-ip";q=5;w=18000, "lim/per-ip";q=1;w=3600');
  // always admitted this one (4 tokens, untouched by the refusal), lim refused it.
  assert.equal(refused.ratelimit, '"always/per-ip";r=4;t=3600, "lim/per-ip";r=0;t=3600');
});

test('a remembered refusal belongs to its policy: policy "a" with plan "b" and policy "ab" without plans keep apart', async () => {
  const store = new ScriptedStore();
  const global = { scope: 'global' as const };
  const h = harness(
    [
      ratePolicy('test/a', [], { plans: [{ name: 'b', limits: [limit('fleet', byClientIp, bucket(1, HOUR_MS, 10), global)] }] }),
      ratePolicy('test/ab', [limit('fleet', byClientIp, bucket(1, HOUR_MS, 10), global)]),
    ],
    store,
  );
  store.answer = () => ({ allowed: false, states: [refuseFor(60_000)] });
  limited(await runAsync(h.step(['test/a']), context({ consumer: consumer('alice', 'b') })));
  store.answer = (_tag, calls) => ({ allowed: true, states: calls.map(() => ADMIT) });
  assert.equal(await runAsync(h.step(['test/ab']), context()), null, 'asked Redis: not refused by the other policy\'s remembered refusal');
});

test('Global limits: the store decides; its refusal is remembered and answered without asking it until the retry time', async () => {
  const store = new ScriptedStore();
  const h = harness([ratePolicy('test/g', [limit('fleet', byClientIp, bucket(1, HOUR_MS, 10), { scope: 'global' })])], store);
  const step = h.step(['test/g']);

  const first = context();
  assert.equal(await runAsync(step, first), null);
  assert.deepEqual(first.responseHeaders, [
    ['ratelimit-policy', '"g/fleet";q=10;w=36000'],
    ['ratelimit', '"g/fleet";r=9;t=3600'],
  ]);
  assert.equal(store.takes.length, 1);
  assert.equal(store.takes[0]?.tag, 'test/g', 'the policy id is the hash tag');
  assert.deepEqual(store.takes[0]?.calls[0]?.rule, bucket(1, HOUR_MS, 10));
  assert.ok(store.takes[0]?.calls[0]?.key.endsWith('=203.0.113.5'), store.takes[0]?.calls[0]?.key);

  // The fleet's counter is empty: refused, next token in 2.5 s.
  store.answer = () => ({ allowed: false, states: [refuseFor(2_500)] });
  assert.deepEqual(await runAsync(step, context()), {
    status: 429,
    error: 'too many requests',
    reason: 'limited',
    headers: { 'retry-after': '3', 'ratelimit-policy': '"g/fleet";q=10;w=36000', ratelimit: '"g/fleet";r=0;t=3600' },
  });
  assert.equal(store.takes.length, 2);

  // Remembered: answered at once, no round trip, with what is left of the wait.
  store.answer = () => assert.fail('the store was asked during a remembered refusal');
  h.clock.now = T0 + 1_000;
  const remembered = limited(runNow(step, context()));
  assert.equal(remembered['retry-after'], '2');
  assert.equal(remembered['ratelimit-policy'], '"g/fleet";q=10;w=36000');
  // t is checked in the next test.
  assert.match(remembered.ratelimit ?? '', /^"g\/fleet";r=0;t=\d+$/);
  h.clock.now = T0 + 2_499;
  assert.equal(limited(runNow(step, context()))['retry-after'], '1');
  assert.equal(store.takes.length, 2);
  assert.equal(h.metrics.count('test/g fleet limited'), 3);

  // Another counter (another client) is not covered by it.
  store.answer = (_tag, calls) => ({ allowed: true, states: calls.map(() => ADMIT) });
  assert.equal(await runAsync(step, context({ ip: '198.51.100.40' })), null);
  assert.equal(store.takes.length, 3);
  // Once the retry time has come, the store is asked again.
  h.clock.now = T0 + 2_500;
  assert.equal(await runAsync(step, context()), null);
  assert.equal(store.takes.length, 4);
  assert.equal(h.metrics.count('test/g fleet allowed'), 3);
});

// A remembered refusal keeps Redis's reset too: `t` stays "full again in …", not the retry wait.
test('a remembered Global refusal reports the reset Redis gave (t: until the bucket is full), not the retry wait', async () => {
  const store = new ScriptedStore();
  const h = harness([ratePolicy('test/g', [limit('fleet', byClientIp, bucket(1, HOUR_MS, 10), { scope: 'global' })])], store);
  const step = h.step(['test/g']);
  store.answer = () => ({ allowed: false, states: [{ allowed: false, remaining: 0, resetMs: 9 * HOUR_MS, retryAfterMs: 2_500 }] });
  assert.equal(limited(await runAsync(step, context())).ratelimit, '"g/fleet";r=0;t=32400');
  h.clock.now = T0 + 1_000;
  assert.deepEqual(limited(runNow(step, context())), { 'retry-after': '2', 'ratelimit-policy': '"g/fleet";q=10;w=36000', ratelimit: '"g/fleet";r=0;t=32399' });
  assert.equal(store.takes.length, 1);
});

test('Global limits, store unavailable, failure mode Open: a local counter sized to this proxy\'s share (limit / fleet size) decides', async () => {
  const store = new ScriptedStore();
  store.up = false;
  const h = harness(
    [
      ratePolicy('test/shared', [limit('fleet', byClientIp, bucket(1, HOUR_MS, 9), { scope: 'global' })]),
      ratePolicy('test/quota', [limit('daily', byClientIp, quota(10, 'day'), { scope: 'global' })]),
    ],
    store,
  );
  h.env.fleet.set(3);
  const step = h.step(['test/shared']);
  assert.equal(admitsInARow(step), 3, '9 / 3 proxies');
  assert.equal(limited(runNow(step, context()))['retry-after'], '10800', 'the share refills at 1/3 of the rate');
  assert.equal(admitsInARow(step, { ip: '198.51.100.50' }), 3);
  assert.equal(store.takes.length, 0, 'an unavailable store is not asked');
  assert.equal(h.metrics.count('test/shared fleet fallback'), 9, 'every decision of the share, admitted or not');
  assert.equal(h.metrics.count('test/shared fleet allowed'), 6);
  assert.equal(h.metrics.count('test/shared fleet limited'), 3);
  // A quota's share: floor(10 / 3).
  assert.equal(admitsInARow(h.step(['test/quota'])), 3);

  // A take the store fails to answer (an error, a timeout) falls back the same way, and is counted.
  store.up = true;
  store.answer = () => 'error';
  const ip = '198.51.100.51';
  for (let i = 0; i < 3; i++) assert.equal(await runAsync(step, context({ ip })), null);
  limited(await runAsync(step, context({ ip })));
  assert.equal(h.metrics.count('store-error test/shared'), 4);

  // A fleet of one: the whole limit (and no Redis configured at all behaves the same).
  const alone = harness([ratePolicy('test/shared', [limit('fleet', byClientIp, bucket(1, HOUR_MS, 9), { scope: 'global' })])], null);
  assert.equal(admitsInARow(alone.step(['test/shared'])), 9);
});

test('Global limits, store unavailable, failure mode Closed: 503 with Retry-After 1, and the Local limits taken are given back', async () => {
  const store = new ScriptedStore();
  store.up = false;
  const h = harness(
    [
      ratePolicy('test/closed', [
        limit('local', byClientIp, bucket(1, HOUR_MS, 1)),
        limit('fleet', byClientIp, bucket(1, HOUR_MS, 100), { scope: 'global', failureMode: 'closed' }),
        limit('open', byClientIp, bucket(1, HOUR_MS, 100), { scope: 'global' }),
      ]),
    ],
    store,
  );
  const step = h.step(['test/closed']);
  const unavailable = { status: 503, error: 'rate limit store unavailable', reason: 'store-unavailable', headers: { 'retry-after': '1' } };
  for (let i = 0; i < 3; i++) assert.deepEqual(runNow(step, context()), unavailable);
  assert.equal(h.metrics.count('unavailable test/closed'), 3);
  assert.equal(store.takes.length, 0);

  // The store is back: the local limit's one token was never kept by the 503s.
  store.up = true;
  assert.equal(await runAsync(step, context()), null);
  assert.equal(store.takes.length, 1);
  assert.deepEqual(
    store.takes[0]?.calls.map((c) => c.rule),
    [bucket(1, HOUR_MS, 100), bucket(1, HOUR_MS, 100)],
    "one take for the policy's two Global limits",
  );
  // Now the local limit refuses first, without a round trip.
  limited(runNow(step, context()));
  assert.equal(store.takes.length, 1);
});

test('refunds: a Global refusal gives back what the Local limits and the other policies admitted', async () => {
  const store = new ScriptedStore();
  const h = harness(
    [
      ratePolicy('test/mixed', [limit('local', byClientIp, bucket(1, HOUR_MS, 2)), limit('fleet', byClientIp, bucket(1, HOUR_MS, 100), { scope: 'global' })]),
      ratePolicy('test/ga', [limit('fleet', byClientIp, bucket(1, HOUR_MS, 100), { scope: 'global' })]),
      ratePolicy('test/gb', [limit('fleet', byClientIp, bucket(1, HOUR_MS, 100), { scope: 'global' })]),
      ratePolicy('test/fa', [limit('fleet', byClientIp, bucket(1, HOUR_MS, 2), { scope: 'global' })]),
      ratePolicy('test/fb', [limit('fleet', byClientIp, bucket(1, HOUR_MS, 1), { scope: 'global' })]),
    ],
    store,
  );

  // Local admitted, Redis refused: the local token comes back (three times over, a second apart).
  const mixed = h.step(['test/mixed']);
  store.answer = () => ({ allowed: false, states: [refuseFor(1_000)] });
  for (let i = 0; i < 3; i++) {
    h.clock.now = T0 + i * 1_000;
    limited(await runAsync(mixed, context()));
  }
  h.clock.now = T0 + 3_000;
  store.answer = (_tag, calls) => ({ allowed: true, states: calls.map(() => ADMIT) });
  assert.equal(await runAsync(mixed, context()), null);
  assert.equal(await runAsync(mixed, context()), null);
  const takes = store.takes.length;
  limited(runNow(mixed, context()));
  assert.equal(store.takes.length, takes, 'refused by the local limit: Redis not asked');
  assert.equal(store.refunds.length, 0);

  // Two policies: ga admitted, gb refused → ga's unit goes back to Redis, gb's was never taken.
  store.answer = (tag, calls) => (tag === 'test/gb' ? { allowed: false, states: [refuseFor(1_000)] } : { allowed: true, states: calls.map(() => ADMIT) });
  const ip = '198.51.100.60';
  limited(await runAsync(h.step(['test/ga', 'test/gb']), context({ ip })));
  assert.equal(store.refunds.length, 1);
  assert.equal(store.refunds[0]?.tag, 'test/ga');
  assert.deepEqual(store.refunds[0]?.calls, store.takes.find((t) => t.tag === 'test/ga' && t.calls[0]?.key.endsWith(`=${ip}`))?.calls);

  // Store down, both Open: fa's fallback share admits, fb's refuses → fa's local token goes back.
  store.up = false;
  const both = h.step(['test/fa', 'test/fb']);
  const ip2 = '198.51.100.61';
  assert.equal(runNow(both, context({ ip: ip2 })), null); // fa 2 → 1, fb 1 → 0
  for (let i = 0; i < 3; i++) limited(runNow(both, context({ ip: ip2 })));
  assert.equal(admitsInARow(h.step(['test/fa']), { ip: ip2 }), 1, 'fa kept its last token through the refusals');
  assert.equal(store.refunds.length, 1, 'fallback refunds stay local');
});

// Global rate limits across a fleet, end to end: real `gatehouse standalone` processes (three of them on one config
// folder) in front of a real upstream, sharing a real Redis (one server, then a 3-master Cluster). Checked: the
// fleet admits the limit and not more (the count of 200s against the exact expectation of a per-second quota), Local
// scope counts per proxy, a quota's window rolls over, every key in Redis expires, and Redis going away and coming
// back (hung, stopped, restarted on the same port) without restarting the proxy.
//
// Timing: the proxies decide quota windows with Date.now(), and so does this file (one host, one clock). A request
// was decided at some instant between when it was sent and when its answer arrived; it belongs to a known window when
// both fall in the same second. Every wait is a bounded poll on a condition; no sleep decides a result.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { driveLoad, type LoadRun, type LoadSample } from '../support/fleet-load.ts';
import { startStandalone, type GatehouseProcess } from '../support/gatehouse-process.ts';
import { startRedisCluster, startRedisServer } from '../support/redis-server.ts';
import { sampleOf } from './helpers/authorizers.ts';
import { errorBody, send, type Reply } from './helpers/http-client.ts';
import { rateLimitItems } from './helpers/rate-policies.ts';
import { startUpstream, type Upstream } from './helpers/upstreams.ts';
import { eventually } from '../support/wait-for.ts';

/** The quota of the accuracy tests: admitted requests per second, fleet-wide (Global) or per proxy (Local). */
const LIMIT = 100;
const PROXIES = 3;
/** Requests in flight at once over the whole fleet. */
const IN_FLIGHT = 30;
/**
 * How long the load runs. It starts LOAD_PHASE_MS into a second, so it covers 6 windows: the first and the last only
 * partly (600 and 400 ms), enough to exhaust a quota of 100 many times over (the fleet answers thousands a second).
 */
const LOAD_MS = 5_000;
const LOAD_PHASE_MS = 400;
/**
 * Evidence that a window's quota was exhausted: a 429 decided in it for certain, sent at least this far into it. (A
 * proxy remembers a Redis refusal until the window's end plus one Redis round trip, so a 429 at a window's very start
 * may be the previous window's.)
 */
const EXHAUSTED_AFTER_MS = 100;
const DECISIONS = 'gatehouse_rate_limit_decisions_total';

const manifest = (doc: unknown): string => `${JSON.stringify(doc, null, 2)}\n`;

type LimitSpec = Record<string, unknown>;

function ratePolicy(name: string, limit: LimitSpec): string {
  return manifest({ apiVersion: 'gatehouse.dev/v1alpha1', kind: 'RatePolicy', metadata: { name, namespace: 'default' }, spec: { limits: [limit] } });
}

/** One ApiRoute "fleet": a rule per path (rule i is keyed "default/fleet/r<i>"), each naming its RatePolicy. */
function apiRoute(upstreamPort: number, rules: Array<{ path: string; policy?: string }>): string {
  return manifest({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiRoute',
    metadata: { name: 'fleet', namespace: 'default' },
    spec: {
      rules: rules.map((r) => ({
        matches: [{ path: { type: 'Prefix', value: r.path } }],
        ...(r.policy !== undefined && { ratePolicies: [{ name: r.policy }] }),
        backends: [{ url: `http://127.0.0.1:${upstreamPort}` }],
      })),
    },
  });
}

/** What an after hook ends, last started first; it runs every step even when one throws or a start failed half way. */
class Cleanups {
  readonly #steps: Array<() => Promise<unknown>> = [];
  add(step: () => Promise<unknown>): void {
    this.#steps.push(step);
  }
  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

/** A tiny upstream: 200 "ok" to everything. */
async function startOk(cleanups: Cleanups): Promise<Upstream> {
  const up = await startUpstream('ok', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  cleanups.add(() => up.close());
  return up;
}

async function configDir(cleanups: Cleanups, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-fleet-'));
  cleanups.add(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

// ---- metrics and readiness ----

async function scrape(adminPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** A label-less sample ("gatehouse_redis_up 1"); undefined when absent. */
function plainSample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function redisUp(adminPort: number): Promise<number | undefined> {
  return plainSample(await scrape(adminPort), 'gatehouse_redis_up');
}

/** A metric summed over the fleet's proxies. */
async function fleetSum(proxies: readonly GatehouseProcess[], name: string, labels: Record<string, string>): Promise<number> {
  let sum = 0;
  for (const p of proxies) sum += sampleOf(await scrape(p.adminPort), name, labels);
  return sum;
}

async function readyz(adminPort: number): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text() };
}

/** Each proxy serves the table (an unthrottled route answers 200) and is connected to Redis (gatehouse_redis_up 1). */
async function untilServing(proxies: readonly GatehouseProcess[], path = '/free'): Promise<void> {
  await Promise.all(
    proxies.map((p) =>
      eventually(
        async () => (await send(p.port, path, { timeoutMs: 2_000 })).status === 200 && (await redisUp(p.adminPort)) === 1,
        `proxy :${p.port} serving ${path} and connected to Redis\n${p.stdout().slice(-2_000)}`,
        15_000,
        50,
      ),
    ),
  );
}

async function startProxies(cleanups: Cleanups, dir: string, count: number, args: string[]): Promise<GatehouseProcess[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startStandalone(dir, args)));
  for (const s of started) if (s.status === 'fulfilled') cleanups.add(() => s.value.stop());
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return started.map((s) => (s as PromiseFulfilledResult<GatehouseProcess>).value);
}

// ---- Redis, seen from the test ----

const KEY_PATTERN = 'gatehouse:rl:*';

/** Every gatehouse:rl:* key, over every master of a Cluster (SCAN, bounded in rounds). */
async function scanKeys(client: Redis | Cluster): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    for (let round = 0; round < 10_000; round++) {
      const [next, batch] = await node.scan(cursor, 'MATCH', KEY_PATTERN, 'COUNT', 1_000);
      keys.push(...batch);
      cursor = next;
      if (cursor === '0') break;
    }
    assert.equal(cursor, '0', 'SCAN finished');
  }
  return keys;
}

/** The Redis key of a Global limit's counter (redis-limit-store.ts), for the rule "default/fleet/r<rule>". */
function counterKey(policy: string, limit: string, rule: number, windowId?: string): string {
  return `gatehouse:rl:{default/${policy}}:|${limit}|=default/fleet/r${rule}${windowId === undefined ? '' : `:${windowId}`}`;
}

/** A UTC second's quota window id, as calendar-window.ts names it. */
function secondId(second: number): string {
  return new Date(second * 1_000).toISOString().slice(0, 19);
}

// ---- accuracy ----

/** Waits (bounded poll) until the wall clock is between `fromMs` and `toMs` into a second. */
async function untilPhase(fromMs: number, toMs: number): Promise<void> {
  await eventually(
    async () => {
      const phase = Date.now() % 1_000;
      return phase >= fromMs && phase < toMs;
    },
    `the clock ${fromMs}–${toMs} ms into a second`,
    2_000,
    5,
  );
}

const second = (ms: number): number => Math.floor(ms / 1_000);

/** The `r` of item `item` in a RateLimit field. */
function remainingIn(field: string | string[] | undefined, item: string): number {
  const r = rateLimitItems(field)[item]?.r;
  if (r === undefined) throw new Error(`no ${item} in RateLimit ${JSON.stringify(field)}`);
  return r;
}

const remaining = (reply: Reply, item: string): number => remainingIn(reply.headers.ratelimit, item);

interface Accuracy {
  /** The windows (epoch seconds) the run touched, each exhausted. */
  windows: number[];
  admitted: number;
  expected: number;
  ratio: number;
  report: string;
}

/**
 * Checks a run against a per-second quota of LIMIT per counter group (one group for a Global limit, one per proxy
 * for a Local one) and returns the measured ratio.
 *
 * Why a per-second quota: each window admits exactly LIMIT per counter once the load exhausts it, so the expected
 * count is exact (a token bucket's would depend on measured durations). The load starts 400 ms into a second and
 * runs 5 s, so it touches 6 windows, the partial first and last ones included, and every one of them is exhausted
 * within a few ms at this load: every 200 of the run counts, with no guess about where a window's edge fell. So:
 * - per window and group, the 200s decided in it for certain never exceed LIMIT, and their RateLimit `r` values are
 *   distinct (one counter hands out LIMIT−1, …, 0 once each);
 * - every window touched must be exhausted (a 429 decided in it, see EXHAUSTED_AFTER_MS), else the machine was too
 *   slow to test anything and the test says so;
 * - the 200s of the run over (windows × groups × LIMIT) is within [0.97, 1.03] (with a correct limiter it is 1:
 *   the margin is for nothing but a bug); and never above the number of windows the run's span could touch.
 */
function checkAccuracy(run: LoadRun, item: string, groups: number, groupOf: (s: LoadSample) => number): Accuracy {
  const failed = run.samples.filter((s) => s.status !== 200 && s.status !== 429);
  assert.equal(failed.length, 0, `only 200s and 429s; got ${failed.length} others, e.g. ${JSON.stringify(failed.slice(0, 3))}`);
  const first = second(run.startMs);
  const last = second(run.samples.reduce((max, s) => Math.max(max, s.receivedMs), run.startMs));
  // Decided for certain in window w: sent and answered within w.
  const decided = new Map<string, { admitted: number; refused: number; refusedLate: number; rs: Set<number> }>();
  const slot = (w: number, g: number) => {
    const k = `${w}/${g}`;
    let v = decided.get(k);
    if (v === undefined) decided.set(k, (v = { admitted: 0, refused: 0, refusedLate: 0, rs: new Set() }));
    return v;
  };
  let admitted = 0;
  for (const s of run.samples) {
    if (s.status === 429) assert.equal(s.retryAfter, '1', 'a per-second quota refuses with Retry-After: 1');
    if (s.status === 200) admitted++;
    const w = second(s.sentMs);
    if (w !== second(s.receivedMs)) continue;
    const t = slot(w, groupOf(s));
    if (s.status === 429) {
      t.refused++;
      if (s.sentMs - w * 1_000 >= EXHAUSTED_AFTER_MS) t.refusedLate++;
    } else {
      t.admitted++;
      const r = remainingIn(s.ratelimit, item);
      assert.ok(r >= 0 && r < LIMIT, `r=${r} within [0, ${LIMIT})`);
      assert.ok(!t.rs.has(r), `window ${secondId(w)} group ${groupOf(s)}: r=${r} handed out twice (two counters, or one admitting twice)`);
      t.rs.add(r);
    }
  }
  const windows: number[] = [];
  const lines: string[] = [];
  for (let w = first; w <= last; w++) {
    windows.push(w);
    const row: string[] = [];
    for (let g = 0; g < groups; g++) {
      const t = slot(w, g);
      row.push(`${t.admitted}/${t.admitted + t.refused}`);
      assert.ok(t.admitted <= LIMIT, `window ${secondId(w)} group ${g}: ${t.admitted} admitted for certain, over the quota of ${LIMIT}`);
    }
    lines.push(`${secondId(w)}: ${row.join(' ')}`);
  }
  const report = `admitted/decided for certain per window${groups > 1 ? ' and proxy' : ''}:\n  ${lines.join('\n  ')}`;
  // The run's span can touch at most these windows, whatever happened: a hard upper bound.
  assert.ok(admitted <= windows.length * groups * LIMIT, `${admitted} admitted over ${windows.length} windows × ${groups} counters of ${LIMIT}\n${report}`);
  const windowsLoaded = second(run.deadlineMs) - first + 1;
  assert.equal(windows.length, windowsLoaded, `no answer arrived in a window after the deadline's\n${report}`);
  for (const w of windows) {
    for (let g = 0; g < groups; g++) {
      const t = slot(w, g);
      assert.ok(
        t.refusedLate > 0,
        `window ${secondId(w)} group ${g}: no 429 decided in it for certain ${EXHAUSTED_AFTER_MS} ms or more into it (${t.admitted + t.refused} decided); ` +
          `the load did not exhaust the quota, so this run cannot measure accuracy (machine too busy?)\n${report}`,
      );
    }
  }
  const expected = windows.length * groups * LIMIT;
  const ratio = admitted / expected;
  assert.ok(ratio >= 0.97 && ratio <= 1.03, `admitted ${admitted}, expected ${expected} (ratio ${ratio.toFixed(4)})\n${report}`);
  return { windows, admitted, expected, ratio, report };
}

/** Load on `path`, spread over the proxies, started LOAD_PHASE_MS into a second, after a warm-up on /free. */
async function loadRun(proxies: readonly GatehouseProcess[], path: string): Promise<LoadRun> {
  // Warm (JIT, upstream connections) so the first, partial window is exhausted like the others.
  const warm = await driveLoad({ ports: proxies.map((p) => p.port), path: '/free', inFlight: IN_FLIGHT, durationMs: 300, maxRequests: 50_000 });
  assert.ok(warm.samples.every((s) => s.status === 200), 'warm-up on /free');
  await untilPhase(LOAD_PHASE_MS, LOAD_PHASE_MS + 100);
  return driveLoad({ ports: proxies.map((p) => p.port), path, inFlight: IN_FLIGHT, durationMs: LOAD_MS, requestTimeoutMs: 5_000, maxRequests: 500_000 });
}

/** Test 1 and 2: the Global quota over three proxies, checked from the clients, the metrics and Redis's counters. */
async function globalAccuracy(t: TestContext, proxies: readonly GatehouseProcess[], redis: Redis | Cluster, label: string): Promise<void> {
  const policy = { policy: 'default/fleet-global', limit: 'per-second' };
  const before = {
    allowed: await fleetSum(proxies, DECISIONS, { ...policy, result: 'allowed' }),
    limited: await fleetSum(proxies, DECISIONS, { ...policy, result: 'limited' }),
  };
  const run = await loadRun(proxies, '/global');
  const acc = checkAccuracy(run, 'fleet-global/per-second', 1, () => 0);
  const byProxy = proxies.map((_, i) => run.samples.filter((s) => s.target === i && s.status === 200).length);
  t.diagnostic(`${label}: admitted ${acc.admitted} of ${run.samples.length} over ${acc.windows.length} windows; expected ${acc.expected}; ratio ${acc.ratio.toFixed(4)}; 200s per proxy ${byProxy.join('/')}`);
  t.diagnostic(acc.report);
  // The load was spread: every proxy admitted some (a fleet where one proxy took everything would prove nothing).
  for (const [i, n] of byProxy.entries()) assert.ok(n > 0, `proxy ${i} admitted none`);

  // Every decision went to Redis: none fell back, none failed; the proxies counted what the clients saw.
  const errors = await fleetSum(proxies, 'gatehouse_rate_limit_store_errors_total', { policy: policy.policy });
  assert.equal(await fleetSum(proxies, DECISIONS, { ...policy, result: 'fallback' }), 0, 'no decision by the local fallback');
  assert.equal(errors, 0, 'no Redis error');
  assert.equal((await fleetSum(proxies, DECISIONS, { ...policy, result: 'allowed' })) - before.allowed, acc.admitted, 'allowed decisions = 200s seen');
  const refused = run.samples.filter((s) => s.status === 429).length;
  assert.equal((await fleetSum(proxies, DECISIONS, { ...policy, result: 'limited' })) - before.limited, refused, 'limited decisions = 429s seen');

  // Redis holds one counter per window: each at the quota, together the 200s the clients saw.
  let inRedis = 0;
  for (const w of acc.windows) {
    const count = Number(await redis.get(counterKey('fleet-global', 'per-second', 0, secondId(w))));
    assert.equal(count, LIMIT, `Redis's counter of window ${secondId(w)}`);
    inRedis += count;
  }
  assert.equal(inRedis, acc.admitted, "the 200s seen = Redis's counts");
}

/** Test 6: every gatehouse:rl:* key has a TTL, bounded by when it stops mattering. */
async function keysExpire(t: TestContext, proxies: readonly GatehouseProcess[], redis: Redis | Cluster): Promise<void> {
  // Fresh counters of both kinds: a quota's (tiny) and a token bucket's (bucket: 100 burst, 50/s).
  for (const p of proxies) {
    assert.equal((await send(p.port, '/bucket')).status, 200);
    await send(p.port, '/tiny');
  }
  const keys = await scanKeys(redis);
  const bucketKey = counterKey('fleet-bucket', 'per-route', 3);
  assert.ok(keys.includes(bucketKey), `the bucket's key among ${keys.length}: ${keys.slice(0, 5).join(', ')}`);
  assert.ok(keys.some((k) => k.startsWith(counterKey('fleet-tiny', 'per-second', 2, ''))), 'a quota key');
  let maxTtl = 0;
  for (const key of keys) {
    const ttl = await redis.pttl(key);
    // -2: gone since the SCAN (expired: fine). -1 would be a key that never expires.
    assert.notEqual(ttl, -1, `${key} has no TTL`);
    if (ttl === -2) continue;
    assert.ok(ttl > 0, `${key}: PTTL ${ttl}`);
    if (key === bucketKey) {
      // A bucket expires when it would be full again, +1 s: at most burst / rate = 2 s, + 1 s.
      assert.ok(ttl <= 3_000, `bucket key PTTL ${ttl} ms, expected ≤ 3000 (full again in ≤ 2 s, + 1 s)`);
    } else {
      // A quota key (every other key here is a per-second quota's): 60 s after its window ends.
      assert.ok(ttl <= 61_000, `${key}: PTTL ${ttl} ms, expected ≤ 61000 (60 s after its 1 s window)`);
    }
    maxTtl = Math.max(maxTtl, ttl);
  }
  t.diagnostic(`${keys.length} keys, all expiring (longest PTTL ${maxTtl} ms)`);
}

/** The config of the fleet tests: one ApiRoute, a rule per RatePolicy, and one unthrottled rule for readiness. */
function fleetConfig(upstreamPort: number): Record<string, string> {
  const perSecond = (limit: number, scope: 'Global' | 'Local'): LimitSpec => ({ name: 'per-second', key: [{ type: 'Route' }], quota: { limit, period: 'Second' }, scope });
  return {
    'global.yaml': ratePolicy('fleet-global', perSecond(LIMIT, 'Global')),
    'local.yaml': ratePolicy('fleet-local', perSecond(LIMIT, 'Local')),
    'tiny.yaml': ratePolicy('fleet-tiny', perSecond(3, 'Global')),
    'bucket.yaml': ratePolicy('fleet-bucket', { name: 'per-route', key: [{ type: 'Route' }], tokenBucket: { rate: 50, period: '1s', burst: 100 }, scope: 'Global' }),
    'route.yaml': apiRoute(upstreamPort, [
      { path: '/global', policy: 'fleet-global' },
      { path: '/local', policy: 'fleet-local' },
      { path: '/tiny', policy: 'fleet-tiny' },
      { path: '/bucket', policy: 'fleet-bucket' },
      { path: '/free' },
    ]),
  };
}

// A Redis timeout well above this machine's worst latency under load: the accuracy tests measure Redis's counting,
// and a timeout would hand decisions to the (documented, per-proxy) Open fallback. The tests assert no decision fell
// back, so a fallback cannot hide in the ratio either way.
const ACCURACY_TIMEOUT = ['--redis-timeout', '1s'];

describe('three proxies sharing one standalone Redis', () => {
  const cleanups = new Cleanups();
  let proxies: GatehouseProcess[] = [];
  let client: Redis;
  after(() => cleanups.run());
  before(async () => {
    const redis = await startRedisServer();
    cleanups.add(() => redis.close());
    const up = await startOk(cleanups);
    const dir = await configDir(cleanups, fleetConfig(up.port));
    client = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: 1, lazyConnect: true });
    cleanups.add(async () => client.disconnect());
    await client.connect();
    proxies = await startProxies(cleanups, dir, PROXIES, ['--redis-url', redis.url, ...ACCURACY_TIMEOUT]);
    await untilServing(proxies);
  });

  test('a Global per-second quota admits its limit per window across 3 proxies (the count of 200s within ±3%, per window never over)', async (t) => {
    await globalAccuracy(t, proxies, client, 'standalone Redis');
  });

  test('Local scope counts per proxy: the same quota admits its limit per window on each of the 3 proxies (≈ 3× fleet-wide)', async (t) => {
    const policy = { policy: 'default/fleet-local', limit: 'per-second' };
    const run = await loadRun(proxies, '/local');
    // One counter per proxy: each window and proxy admits LIMIT (r values distinct per proxy, repeated across them).
    const acc = checkAccuracy(run, 'fleet-local/per-second', PROXIES, (s) => s.target);
    const perWindow = acc.windows.map((w) => run.samples.filter((s) => s.status === 200 && second(s.sentMs) === w && second(s.receivedMs) === w).length);
    t.diagnostic(`Local: admitted ${acc.admitted} over ${acc.windows.length} windows × ${PROXIES} proxies; expected ${acc.expected} (${PROXIES}× the Global limit); ratio ${acc.ratio.toFixed(4)}`);
    t.diagnostic(`fleet-wide 200s per window (for certain): ${perWindow.join(', ')} (limit ${LIMIT} each proxy)`);
    t.diagnostic(acc.report);
    // Fleet-wide, far above one limit: the windows fully inside the run admit about 3× LIMIT.
    for (const n of perWindow.slice(1, -1)) assert.ok(n > 2 * LIMIT, `a whole window admitted ${n} fleet-wide, expected ≈ ${PROXIES * LIMIT}`);
    // Local limits never touch Redis.
    assert.deepEqual((await scanKeys(client)).filter((k) => k.includes('{default/fleet-local}')), [], 'no Redis key for a Local limit');
    assert.equal(await fleetSum(proxies, DECISIONS, { ...policy, result: 'fallback' }), 0);
  });

  test('a Global quota of 3 per second: at most 3 admitted in a second across the fleet, admitted again once the window rolls over; RateLimit t ≤ 1', async (t) => {
    const item = 'fleet-tiny/per-second';
    // A burst of 9 (3 per proxy) decided within one second: started early in a second, and retried (at most 3
    // times) if it still straddled an edge.
    let burst: Array<{ reply: Reply; sentMs: number; receivedMs: number }> = [];
    let window = 0;
    for (let attempt = 1; attempt <= 3; attempt++) {
      // Never in a window a previous attempt reached.
      const reached = second(burst.reduce((max, b) => Math.max(max, b.receivedMs), 0));
      await eventually(async () => second(Date.now()) > reached, 'a second no earlier burst reached', 3_000, 5);
      await untilPhase(20, 300);
      burst = await Promise.all(
        Array.from({ length: 9 }, async (_, i) => {
          const sentMs = Date.now();
          const reply = await send((proxies[i % PROXIES] as GatehouseProcess).port, '/tiny', { timeoutMs: 2_000 });
          return { reply, sentMs, receivedMs: Date.now() };
        }),
      );
      window = second(Math.min(...burst.map((b) => b.sentMs)));
      if (burst.every((b) => second(b.receivedMs) === window)) break;
      assert.ok(attempt < 3, 'a burst of 9 requests fitted in one second within 3 attempts');
    }
    const statuses = burst.map((b) => b.reply.status);
    t.diagnostic(`burst in ${secondId(window)}: ${statuses.join(' ')}`);
    const admitted = burst.filter((b) => b.reply.status === 200);
    assert.equal(admitted.length, 3, `exactly 3 of the burst admitted: ${statuses.join(' ')}`);
    assert.deepEqual(admitted.map((b) => remaining(b.reply, item)).sort((a, b) => a - b), [0, 1, 2], 'r: 2, 1, 0 (one shared counter)');
    for (const b of burst) {
      const state = rateLimitItems(b.reply.headers.ratelimit)[item];
      assert.ok(state !== undefined && state.t !== undefined && state.t <= 1, `RateLimit t ≤ 1: ${String(b.reply.headers.ratelimit)}`);
      if (b.reply.status === 429) {
        assert.equal(errorBody(b.reply).error, 'too many requests');
        assert.equal(b.reply.headers['retry-after'], '1');
        assert.equal(state.r, 0);
      } else assert.equal(b.reply.status, 200);
    }

    // Polled (bounded): refused until the window ends, then admitted again, soon after the edge.
    const edge = (window + 1) * 1_000;
    let polls = 0;
    let readmitted: { receivedMs: number; reply: Reply } | undefined;
    await eventually(
      async () => {
        const reply = await send((proxies[polls++ % PROXIES] as GatehouseProcess).port, '/tiny', { timeoutMs: 2_000 });
        const receivedMs = Date.now();
        if (reply.status === 200) readmitted = { receivedMs, reply };
        else assert.equal(reply.status, 429, reply.body);
        return readmitted !== undefined;
      },
      'a request admitted after the window rolled over',
      3_000,
      20,
    );
    const back = readmitted as { receivedMs: number; reply: Reply };
    assert.ok(back.receivedMs >= edge, `admitted at ${back.receivedMs}, before the window's end ${edge}`);
    // Refused requests are remembered only until the window ends (plus a round trip): a bug that kept refusing for
    // another window would show ≥ 1 s here.
    assert.ok(back.receivedMs - edge < 750, `admitted ${back.receivedMs - edge} ms after the window ended`);
    const state = rateLimitItems(back.reply.headers.ratelimit)[item];
    assert.ok(state?.t !== undefined && state.t <= 1, `RateLimit t ≤ 1: ${String(back.reply.headers.ratelimit)}`);
    t.diagnostic(`admitted again ${back.receivedMs - edge} ms after the window's end (${polls} polls)`);
  });

  test('every gatehouse:rl:* key in Redis expires', async (t) => {
    await keysExpire(t, proxies, client);
  });
});

describe('three proxies sharing a 3-master Redis Cluster', () => {
  const cleanups = new Cleanups();
  let proxies: GatehouseProcess[] = [];
  let client: Cluster;
  after(() => cleanups.run());
  before(async () => {
    const cluster = await startRedisCluster(3);
    cleanups.add(() => cluster.close());
    const up = await startOk(cleanups);
    const dir = await configDir(cleanups, fleetConfig(up.port));
    client = new Cluster(
      cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
      { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1 } },
    );
    cleanups.add(async () => client.disconnect());
    await client.connect();
    proxies = await startProxies(cleanups, dir, PROXIES, ['--redis-cluster-nodes', cluster.seeds.join(','), ...ACCURACY_TIMEOUT]);
    await untilServing(proxies);
  });

  test('a Global per-second quota admits its limit per window across 3 proxies on a Cluster (±3%, per window never over)', async (t) => {
    await globalAccuracy(t, proxies, client, 'Redis Cluster');
  });

  test('every gatehouse:rl:* key on every master expires', async (t) => {
    await keysExpire(t, proxies, client);
  });
});

test('Redis hung, stopped and restarted on the same port: Open limits fall back to the local share, Closed ones answer 503, nothing hangs, Global again without a proxy restart', async (t) => {
  const cleanups = new Cleanups();
  t.after(() => cleanups.run());
  const TIMEOUT_MS = 250;
  /** Every request during an outage ends within this: the Redis timeout and a margin for a busy machine. */
  const BOUND_MS = 2_000;
  const redis = await startRedisServer();
  cleanups.add(() => redis.close());
  const up = await startOk(cleanups);
  const global = (failureMode: 'Open' | 'Closed', bucket: Record<string, unknown>): LimitSpec => ({
    name: 'per-route',
    key: [{ type: 'Route' }],
    tokenBucket: bucket,
    scope: 'Global',
    failureMode,
  });
  const dir = await configDir(cleanups, {
    // Open: 5 at once, one more per hour, so nothing refills during the test.
    'open.yaml': ratePolicy('open-policy', global('Open', { rate: 1, period: '1h', burst: 5 })),
    // Closed: never the limit here; only the store's availability decides.
    'closed.yaml': ratePolicy('closed-policy', global('Closed', { rate: 1_000, period: '1s', burst: 1_000 })),
    'route.yaml': apiRoute(up.port, [
      { path: '/open', policy: 'open-policy' },
      { path: '/closed', policy: 'closed-policy' },
      { path: '/free' },
    ]),
  });
  // A connect timeout far above BOUND_MS: a request that waited for a connection attempt would break the bound.
  const [gw] = await startProxies(cleanups, dir, 1, ['--redis-url', redis.url, '--redis-timeout', `${TIMEOUT_MS}ms`, '--redis-connect-timeout', '5s']);
  const proxy = gw as GatehouseProcess;
  await untilServing([proxy]);
  const client = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => 200, enableOfflineQueue: false });
  client.on('error', () => {});
  cleanups.add(async () => client.disconnect());
  await client.connect();

  const OPEN = 'open-policy/per-route';
  const metric = async (name: string, labels: Record<string, string>): Promise<number> => sampleOf(await scrape(proxy.adminPort), name, labels);
  const fallbacks = (): Promise<number> => metric(DECISIONS, { policy: 'default/open-policy', limit: 'per-route', result: 'fallback' });
  const unavailable = (): Promise<number> => metric('gatehouse_rate_limit_store_unavailable_total', { policy: 'default/closed-policy' });
  const storeErrors = async (): Promise<number> =>
    (await metric('gatehouse_rate_limit_store_errors_total', { policy: 'default/open-policy' })) + (await metric('gatehouse_rate_limit_store_errors_total', { policy: 'default/closed-policy' }));
  /** A request that must end within BOUND_MS; its duration comes back with it. */
  const timed = async (path: string): Promise<{ reply: Reply; ms: number }> => {
    const started = performance.now();
    const reply = await send(proxy.port, path, { timeoutMs: BOUND_MS });
    const ms = performance.now() - started;
    assert.ok(ms < BOUND_MS, `${path} answered in ${Math.round(ms)} ms, over ${BOUND_MS}`);
    return { reply, ms };
  };
  const assertStoreUnavailable = (reply: Reply): void => {
    assert.equal(reply.status, 503, reply.body);
    assert.equal(reply.headers['retry-after'], '1');
    assert.equal(errorBody(reply).error, 'rate limit store unavailable');
  };

  // Redis up: both routes decided by Redis (the Open bucket's counter is in Redis: 5 → 4 → 3).
  assert.deepEqual([remaining((await timed('/open')).reply, OPEN), remaining((await timed('/open')).reply, OPEN)], [4, 3]);
  assert.equal((await timed('/closed')).reply.status, 200);
  assert.ok((await scanKeys(client)).includes(counterKey('open-policy', 'per-route', 0)), 'the Open bucket lives in Redis');
  assert.equal(await fallbacks(), 0);

  // 1. Redis hung (SIGSTOP: connected, answering nothing): each decision waits the Redis timeout, then falls back.
  redis.pause();
  const hungClosed = await timed('/closed');
  assertStoreUnavailable(hungClosed.reply);
  const hungOpen = await timed('/open');
  assert.equal(hungOpen.reply.status, 200, 'Open: the local share decides');
  // The fallback is the proxy's own counter with the whole limit (standalone: a fleet of 1), not Redis's 3 left.
  assert.equal(remaining(hungOpen.reply, OPEN), 4, 'the fallback bucket: 5, one taken');
  for (const { ms } of [hungClosed, hungOpen]) assert.ok(ms >= TIMEOUT_MS - 50, `waited ${Math.round(ms)} ms: the --redis-timeout of ${TIMEOUT_MS} ms decides`);
  assert.ok((await storeErrors()) >= 2, 'the timeouts count as store errors');
  assert.equal(await fallbacks(), 1);
  t.diagnostic(`hung Redis: 503 after ${Math.round(hungClosed.ms)} ms, fallback 200 after ${Math.round(hungOpen.ms)} ms (timeout ${TIMEOUT_MS} ms)`);
  // The third timeout in a row opens the breaker: from then on decisions take their failure mode at once, without
  // waiting the timeout each (and gatehouse_redis_up says 0 although the connection looks healthy).
  assertStoreUnavailable((await timed('/closed')).reply);
  const skipped = await timed('/closed');
  assertStoreUnavailable(skipped.reply);
  assert.ok(skipped.ms < TIMEOUT_MS / 2, `answered in ${Math.round(skipped.ms)} ms once the breaker is open`);
  assert.equal(await redisUp(proxy.adminPort), 0);
  redis.resume();
  await eventually(async () => (await timed('/closed')).reply.status === 200, 'the Closed route admitted once Redis answers again', 5_000, 50);

  // 2. Redis stopped: the connection drops, so decisions are made at once, without asking.
  const unavailableBefore = await unavailable();
  await redis.stop();
  const stoppedAt = performance.now();
  let closedReplies = 0;
  let refused503 = 0;
  await eventually(
    async () => {
      closedReplies++;
      const { reply } = await timed('/closed');
      if (reply.status === 503) refused503++;
      return reply.status === 503;
    },
    'the Closed route refusing 503',
    TIMEOUT_MS + 1_500,
    20,
  );
  t.diagnostic(`stopped Redis: first 503 ${Math.round(performance.now() - stoppedAt)} ms after the stop (request ${closedReplies})`);
  const outage: Array<{ reply: Reply; ms: number }> = [];
  // Open: the rest of the local share (4 left), then 429 for an hour; requests in parallel to both routes.
  const parallel = await Promise.all([...Array.from({ length: 6 }, () => timed('/closed')), ...Array.from({ length: 6 }, () => timed('/free'))]);
  outage.push(...parallel);
  for (const { reply } of parallel.slice(0, 6)) assertStoreUnavailable(reply);
  for (const { reply } of parallel.slice(6)) assert.equal(reply.status, 200, 'an unthrottled route is not affected');
  const open: Reply[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await timed('/open');
    outage.push(r);
    open.push(r.reply);
  }
  assert.deepEqual(open.map((r) => r.status), [200, 200, 200, 200, 429, 429], 'the fallback bucket: its 4 left, then refused');
  assert.deepEqual(open.slice(0, 4).map((r) => remaining(r, OPEN)), [3, 2, 1, 0]);
  for (const r of open.slice(4)) {
    assert.equal(errorBody(r).error, 'too many requests');
    const retry = Number(r.headers['retry-after']);
    assert.ok(retry > 3_000 && retry <= 3_600, `Retry-After ${retry}: the next token, about an hour away`);
  }
  t.diagnostic(`outage: slowest of ${outage.length} requests ${Math.round(Math.max(...outage.map((o) => o.ms)))} ms`);
  assert.equal(await fallbacks(), 1 + 6, 'every Open decision during the outages fell back');
  assert.equal((await unavailable()) - unavailableBefore, refused503 + 6, 'each 503 counted in gatehouse_rate_limit_store_unavailable_total');
  await eventually(async () => (await redisUp(proxy.adminPort)) === 0, 'gatehouse_redis_up 0', 5_000, 50);
  const ready = await readyz(proxy.adminPort);
  assert.equal(ready.status, 200, 'readiness does not fail on Redis');
  assert.match(ready.text, /redis unavailable/, `readyz names Redis: ${ready.text}`);

  // 3. Redis back on the same port (empty): Global again, without a proxy restart.
  await redis.restart();
  const restartedAt = performance.now();
  await eventually(async () => (await redisUp(proxy.adminPort)) === 1, 'gatehouse_redis_up 1 after the restart', 10_000, 50);
  await eventually(async () => (await timed('/closed')).reply.status === 200, 'the Closed route admitted again', 5_000, 50);
  t.diagnostic(`restarted Redis: the proxy reconnected within ${Math.round(performance.now() - restartedAt)} ms`);
  const fallbacksAfter = await fallbacks();
  // The fallback bucket is empty (it would refuse): a 200 with r=4 is Redis's new, full bucket deciding.
  const back = await timed('/open');
  assert.equal(back.reply.status, 200, back.reply.body);
  assert.equal(remaining(back.reply, OPEN), 4, "Redis's fresh bucket, not the fallback's");
  assert.equal(await fallbacks(), fallbacksAfter, 'no fallback once Redis is back');
  await eventually(async () => client.status === 'ready', 'the test client reconnected', 10_000, 50);
  const keys = await scanKeys(client);
  assert.ok(keys.includes(counterKey('open-policy', 'per-route', 0)) && keys.includes(counterKey('closed-policy', 'per-route', 1)), `decisions in Redis again: ${keys.join(', ')}`);
  const readyAgain = await readyz(proxy.adminPort);
  assert.equal(readyAgain.status, 200);
  assert.doesNotMatch(readyAgain.text, /redis/, readyAgain.text);

  // One log line per transition.
  const messages = proxy
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { msg: string }).msg)
    .filter((m) => m.startsWith('redis connection'));
  assert.deepEqual(messages.slice(-2), ['redis connection unavailable', 'redis connection ready'], messages.join(', '));
});

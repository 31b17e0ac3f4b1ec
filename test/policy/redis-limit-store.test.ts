// The Redis store of global limits against real Redis (a standalone server and a 3-master Cluster): token bucket and
// quota answers checked against limit-types.ts' math, all-or-nothing takes, key expiry, Cluster slots, exact counts
// under concurrency, failing fast (down, hung, never connected) and recovering without a new store, and a password
// that never reaches an error or a log line.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { LimitCall, QuotaWindow, TakeResult } from '../../proxy/policy/rate-limit/limit-types.ts';
import { RedisConnection, type RedisStatus } from '../../proxy/policy/rate-limit/redis-connection.ts';
import { REDIS_REFUND_LUA, REDIS_TAKE_LUA, RedisLimitError, RedisLimitStore, redisLimitKey } from '../../proxy/policy/rate-limit/redis-limit-store.ts';
import type { TableQuota, TableTokenBucket } from '../../proxy/table/table-schema.ts';

import { createTlsFiles, freeRedisPort, startRedisCluster, startRedisServer, type RedisCluster, type RedisServer } from '../support/redis-server.ts';
import { eventually } from '../support/wait-for.ts';

const HOUR = 3_600_000;

function bucket(rate: number, periodMs: number, burst: number): TableTokenBucket {
  return { kind: 'tokenBucket', rate, periodMs, burst };
}

function quota(limit: number): TableQuota {
  return { kind: 'quota', limit, period: 'day', timeZone: 'UTC' };
}

function windowEndingIn(ms: number, id = `w-${ms}`): QuotaWindow {
  const now = Date.now();
  return { id, startMs: now - 1_000, endMs: now + ms };
}

let tagCount = 0;
/** A fresh RatePolicy id per test: tests share a server but never a counter. */
function freshTag(): string {
  return `ns/policy-${process.pid}-${++tagCount}`;
}

interface CapturedLogs {
  logger: Logger;
  text: () => string;
  messages: () => string[];
}

function captureLogs(): CapturedLogs {
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void raw.push(s) });
  return { logger, text: () => raw.join(''), messages: () => raw.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

function connect(options: { url?: string; clusterNodes?: string[]; password?: string; caPem?: string; commandTimeoutMs?: number; logger?: Logger }): RedisConnection {
  return new RedisConnection({
    commandTimeoutMs: 1_000,
    connectTimeoutMs: 2_000,
    logger: pino({ level: 'silent' }),
    ...options,
  });
}

function untilReady(conn: RedisConnection, timeoutMs = 10_000): Promise<void> {
  return eventually(async () => conn.status() === 'ready', `redis ${conn.target} ready`, timeoutMs, 10);
}

async function rejection(p: Promise<unknown>): Promise<RedisLimitError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RedisLimitError, `expected a RedisLimitError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the take to be rejected');
}

/** Asserts `value` is within [low, high]. */
function between(value: number, low: number, high: number, what: string): void {
  assert.ok(value >= low && value <= high, `${what}: ${value} not in [${low}, ${high}]`);
}

/** Every key under gatehouse:rl: on one server (SCAN, never KEYS). */
async function scanKeys(client: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  for (let i = 0; i < 10_000; i++) {
    const [next, batch] = await client.scan(cursor, 'MATCH', 'gatehouse:rl:*', 'COUNT', 1_000);
    keys.push(...batch);
    cursor = next;
    if (cursor === '0') break;
  }
  return keys;
}

/** 2,000 takes at once from 3 clients (each its own connection) on one bucket of burst 500 that barely refills. */
async function concurrentTakes(connect3: () => RedisConnection): Promise<number> {
  const conns = [connect3(), connect3(), connect3()];
  try {
    await Promise.all(conns.map((c) => untilReady(c)));
    const stores = conns.map((c) => new RedisLimitStore(c));
    const tag = freshTag();
    const calls: LimitCall[] = [{ key: 'shared', rule: bucket(1, HOUR, 500) }];
    const results = await Promise.all(Array.from({ length: 2_000 }, (_, i) => (stores[i % 3] as RedisLimitStore).take(tag, calls)));
    return results.filter((r) => r.allowed).length;
  } finally {
    await Promise.all(conns.map((c) => c.close()));
  }
}

describe('standalone Redis', () => {
  let server: RedisServer;
  let conn: RedisConnection;
  let store: RedisLimitStore;
  let admin: Redis;

  before(async () => {
    server = await startRedisServer();
    conn = connect({ url: server.url });
    store = new RedisLimitStore(conn);
    admin = new Redis({ host: server.host, port: server.port });
    await untilReady(conn);
  });
  after(async () => {
    await conn?.close();
    admin?.disconnect();
    await server?.close();
  });

  test('a full bucket admits exactly burst at once, then refuses; remaining, resetMs and retryAfterMs follow the math', async () => {
    const tag = freshTag();
    const calls: LimitCall[] = [{ key: 'client:1', rule: bucket(1, HOUR, 5) }];
    const started = Date.now();
    // Issued in one tick: one pipelined write, run back to back by Redis in this order.
    const results = await Promise.all(Array.from({ length: 8 }, () => store.take(tag, calls)));
    // Time the bucket refilled meanwhile, in ms (rate 1/h: 1 ms of time is 1 ms of resetMs).
    const slack = Date.now() - started + 2;
    assert.deepEqual(
      results.map((r) => r.allowed),
      [true, true, true, true, true, false, false, false],
    );
    results.forEach((r, i) => {
      const s = r.states[0];
      assert.ok(s);
      assert.equal(r.states.length, 1);
      assert.equal(s.allowed, r.allowed);
      if (i < 5) {
        const taken = i + 1;
        assert.equal(s.remaining, 5 - taken);
        between(s.resetMs, taken * HOUR - slack, taken * HOUR, `resetMs after ${taken}`);
        assert.equal(s.retryAfterMs, 0);
      } else {
        assert.equal(s.remaining, 0);
        between(s.resetMs, 5 * HOUR - slack, 5 * HOUR, 'resetMs of an empty bucket');
        between(s.retryAfterMs, HOUR - slack, HOUR, 'retryAfterMs: the next token');
      }
    });
    const key = redisLimitKey(tag, calls[0] as LimitCall);
    assert.equal(key, `gatehouse:rl:{${tag}}:client:1`);
    const tokens = Number(await admin.hget(key, 'tokens'));
    between(tokens, 0, 0.01, 'stored tokens');
    between(await admin.pttl(key), 5 * HOUR + 1_000 - slack - 50, 5 * HOUR + 1_000, 'PTTL: until full, +1 s');
  });

  test('a bucket refills at its rate: refused for retryAfterMs, then admitted', async () => {
    const tag = freshTag();
    const calls: LimitCall[] = [{ key: 'k', rule: bucket(20, 1_000, 2) }]; // a token per 50 ms
    // Before sending: the refusal was decided after this, so admission cannot come before sentAt + retryAfterMs.
    const sentAt = Date.now();
    const [a, b, refused] = await Promise.all([store.take(tag, calls), store.take(tag, calls), store.take(tag, calls)]);
    assert.ok(a?.allowed && b?.allowed);
    assert.equal(refused?.allowed, false);
    const wait = refused?.states[0]?.retryAfterMs ?? -1;
    between(wait, 1, 50, 'retryAfterMs');
    let admittedAt = 0;
    await eventually(
      async () => {
        const r = await store.take(tag, calls);
        if (r.allowed) admittedAt = Date.now();
        return r.allowed;
      },
      'a token to come back',
      2_000,
      5,
    );
    // Not before the announced time (1 ms: retryAfterMs is rounded up from the server's microseconds, Date.now() down).
    assert.ok(admittedAt - sentAt >= wait - 1, `admitted ${admittedAt - sentAt} ms after sending, announced ${wait} ms`);
  });

  test('refill from a stored state: rate × elapsed on the server clock, capped at burst; a clock step back adds nothing', async () => {
    const tag = freshTag();
    const started = Date.now(); // the planted states are timed from the TIME below
    const [sec, usec] = await admin.time();
    const nowUs = Number(sec) * 1_000_000 + Number(usec);
    const rule = bucket(1, 1_000, 4);
    const partial: LimitCall = { key: 'partial', rule };
    const capped: LimitCall = { key: 'capped', rule };
    const future: LimitCall = { key: 'future', rule };
    await admin.hset(redisLimitKey(tag, partial), 'tokens', '0.25', 'ts', String(nowUs - 1_500_000));
    await admin.hset(redisLimitKey(tag, capped), 'tokens', '1', 'ts', String(nowUs - HOUR * 1_000));
    await admin.hset(redisLimitKey(tag, future), 'tokens', '2', 'ts', String(nowUs + 10_000_000));
    // 0.25 + 1.5 s × 1/s = 1.75 (plus the ms since): admitted, 0.75 left.
    const p = await store.take(tag, [partial]);
    const q = await store.take(tag, [partial]);
    const slack = Date.now() - started + 5;
    assert.deepEqual([p.allowed, p.states[0]?.remaining, p.states[0]?.retryAfterMs], [true, 0, 0]);
    between(p.states[0]?.resetMs ?? -1, 3_250 - slack, 3_250, 'resetMs: (4 - 0.75) s');
    assert.deepEqual([q.allowed, q.states[0]?.remaining], [false, 0]);
    between(q.states[0]?.retryAfterMs ?? -1, 250 - slack, 250, 'retryAfterMs: (1 - 0.75) s');
    between(q.states[0]?.resetMs ?? -1, 3_250 - slack, 3_250, 'resetMs, nothing taken');
    // An hour's worth fills 4 at most: exactly 3 left, full again in exactly 1 s.
    assert.deepEqual(await store.take(tag, [capped]), { allowed: true, states: [{ allowed: true, remaining: 3, resetMs: 1_000, retryAfterMs: 0 }] });
    // A stored ts ahead of the server clock (a failover to a host whose clock is behind) counts as no time passed.
    assert.deepEqual(await store.take(tag, [future]), { allowed: true, states: [{ allowed: true, remaining: 1, resetMs: 3_000, retryAfterMs: 0 }] });
  });

  test('a take is all or nothing: one counter refusing leaves every other unchanged', async () => {
    const tag = freshTag();
    const w = windowEndingIn(60_000);
    const a: LimitCall = { key: 'a', rule: bucket(1, HOUR, 3) };
    const q: LimitCall = { key: 'q', rule: quota(5), window: w };
    const b: LimitCall = { key: 'b', rule: bucket(1, HOUR, 1) };
    assert.ok((await store.take(tag, [a])).allowed);
    assert.ok((await store.take(tag, [q])).allowed);
    assert.ok((await store.take(tag, [b])).allowed); // b is now empty
    const aBefore = await admin.hgetall(redisLimitKey(tag, a));
    const refused = await store.take(tag, [a, q, b]);
    assert.equal(refused.allowed, false);
    const [sa, sq, sb] = refused.states;
    // a and q would have admitted, and report what they hold: nothing was taken.
    assert.deepEqual([sa?.allowed, sa?.remaining, sa?.retryAfterMs], [true, 2, 0]);
    assert.deepEqual([sq?.allowed, sq?.remaining, sq?.retryAfterMs], [true, 4, 0]);
    assert.deepEqual([sb?.allowed, sb?.remaining], [false, 0]);
    assert.ok((sb?.retryAfterMs ?? 0) > HOUR - 5_000);
    assert.deepEqual(await admin.hgetall(redisLimitKey(tag, a)), aBefore, 'the bucket was not written');
    assert.equal(await admin.get(redisLimitKey(tag, q)), '1', 'the quota was not counted');
    // Without the empty bucket the same take goes through, from the unchanged counts.
    const ok = await store.take(tag, [a, q]);
    assert.equal(ok.allowed, true);
    assert.deepEqual(
      ok.states.map((s) => s.remaining),
      [1, 3],
    );
  });

  test('a quota counts per window: remaining down to 0, reset at the window end, and a new window starts fresh', async () => {
    const tag = freshTag();
    const w1 = windowEndingIn(60_000, '2026-11-30');
    const call: LimitCall = { key: 'consumer:acme', rule: quota(3), window: w1 };
    const started = Date.now();
    const results: TakeResult[] = [];
    for (let i = 0; i < 4; i++) results.push(await store.take(tag, [call]));
    const slack = Date.now() - started + 5;
    const endIn = w1.endMs - started;
    assert.deepEqual(
      results.map((r) => [r.allowed, r.states[0]?.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ],
    );
    for (const r of results) between(r.states[0]?.resetMs ?? -1, endIn - slack, endIn, 'resetMs: the window end');
    assert.equal(results[2]?.states[0]?.retryAfterMs, 0);
    assert.equal(results[3]?.states[0]?.retryAfterMs, results[3]?.states[0]?.resetMs, 'refused until the next window');
    const key1 = redisLimitKey(tag, call);
    assert.equal(key1, `gatehouse:rl:{${tag}}:consumer:acme:2026-11-30`);
    assert.equal(await admin.get(key1), '3', 'a refused take is not counted');
    const next: LimitCall = { key: 'consumer:acme', rule: quota(3), window: windowEndingIn(86_400_000, '2026-12-01') };
    const fresh = await store.take(tag, [next]);
    assert.deepEqual([fresh.allowed, fresh.states[0]?.remaining], [true, 2]);
    assert.equal(await admin.get(redisLimitKey(tag, next)), '1');
    // A window already over (the caller's clock at its boundary): nothing left to wait for.
    const over = await store.take(tag, [{ key: 'late', rule: quota(1), window: windowEndingIn(-10, 'old') }]);
    assert.deepEqual(over.states[0], { allowed: true, remaining: 0, resetMs: 0, retryAfterMs: 0 });
  });

  test('refund gives one unit back: a bucket up to burst (full means no key), a quota down to 0, never below', async () => {
    const tag = freshTag();
    const b: LimitCall = { key: 'b', rule: bucket(1, HOUR, 2) };
    const q: LimitCall = { key: 'q', rule: quota(2), window: windowEndingIn(60_000) };
    await store.take(tag, [b, q]);
    await store.take(tag, [b, q]);
    assert.equal((await store.take(tag, [b])).allowed, false);
    await store.refund(tag, [b, q]);
    assert.equal(await admin.get(redisLimitKey(tag, q)), '1');
    const again = await store.take(tag, [b, q]);
    assert.deepEqual([again.allowed, ...again.states.map((s) => s.remaining)], [true, 0, 0]);
    await store.refund(tag, [b, q]);
    await store.refund(tag, [b, q]);
    assert.equal(await admin.exists(redisLimitKey(tag, b)), 0, 'a bucket full again is deleted');
    assert.equal(await admin.get(redisLimitKey(tag, q)), '0');
    await store.refund(tag, [q]);
    assert.equal(await admin.get(redisLimitKey(tag, q)), '0', 'never below 0');
    const absent: LimitCall = { key: 'never-taken', rule: quota(2), window: windowEndingIn(60_000) };
    await store.refund(tag, [absent, { key: 'never-taken-b', rule: bucket(1, HOUR, 2) }]);
    assert.equal(await admin.exists(redisLimitKey(tag, absent)), 0, 'a refund creates nothing');
  });

  test('a tag or key over 200 bytes, and a tag that would break the hash tag, are replaced by their sha256', async () => {
    const call = (key: string): LimitCall => ({ key, rule: bucket(1, HOUR, 2) });
    const longTag = `ns/${'p'.repeat(300)}`;
    const hex = /^[0-9a-f]{64}$/;
    const k1 = redisLimitKey(longTag, call('k'));
    assert.match(k1.slice('gatehouse:rl:{'.length, -'}:k'.length), hex);
    assert.match(redisLimitKey('ns/a{b}', call('k')), /^gatehouse:rl:\{[0-9a-f]{64}\}:k$/);
    assert.match(redisLimitKey('', call('k')), /^gatehouse:rl:\{[0-9a-f]{64}\}:k$/);
    assert.match(redisLimitKey('ns/p', call('x'.repeat(201))), /^gatehouse:rl:\{ns\/p\}:[0-9a-f]{64}$/);
    assert.equal(redisLimitKey('ns/p', call('x'.repeat(200))), `gatehouse:rl:{ns/p}:${'x'.repeat(200)}`);
    // Bytes, not characters: 'é' is 2 bytes in UTF-8.
    assert.match(redisLimitKey('ns/p', call('é'.repeat(101))), /^gatehouse:rl:\{ns\/p\}:[0-9a-f]{64}$/);
    assert.equal(redisLimitKey('ns/p', call('é'.repeat(100))), `gatehouse:rl:{ns/p}:${'é'.repeat(100)}`);
    // Distinct long inputs stay distinct counters.
    assert.notEqual(redisLimitKey('ns/p', call(`${'x'.repeat(300)}1`)), redisLimitKey('ns/p', call(`${'x'.repeat(300)}2`)));
    const r = await store.take(longTag, [call('k'), call('y'.repeat(500))]);
    assert.equal(r.allowed, true);
    assert.equal(await admin.exists(k1), 1);
  });

  test('2,000 concurrent takes from 3 clients on a bucket of burst 500 admit exactly 500', async () => {
    assert.equal(await concurrentTakes(() => connect({ url: server.url })), 500);
  });

  test('scripts flushed from the server (SCRIPT FLUSH, as after a restart or failover): takes go on, by EVAL', async () => {
    const tag = freshTag();
    const calls: LimitCall[] = [{ key: 'k', rule: bucket(1, HOUR, 10) }];
    assert.equal((await store.take(tag, calls)).allowed, true);
    await admin.script('FLUSH');
    await admin.config('RESETSTAT');
    const results = await Promise.all([store.take(tag, calls), store.take(tag, calls), store.refund(tag, calls), store.take(tag, calls)]);
    assert.deepEqual(
      results.map((r) => (r === undefined ? 'refund' : r.states[0]?.remaining)),
      [8, 7, 'refund', 7],
    );
    const stats = await admin.info('commandstats');
    assert.match(stats, /cmdstat_eval:calls=\d+/, 'the scripts were sent again');
    const shas = [REDIS_TAKE_LUA, REDIS_REFUND_LUA].map((lua) => createHash('sha1').update(lua).digest('hex'));
    assert.deepEqual(await admin.script('EXISTS', ...shas), [1, 1], 'both scripts are cached again');
  });

  // Last in this file's standalone suite: it checks the keys every test above created.
  test('every key expires: a bucket when it would be full again (+1 s), a quota 60 s after its window', async () => {
    const tag = freshTag();
    const b: LimitCall = { key: 'b', rule: bucket(1, 10_000, 3) };
    const w = windowEndingIn(30_000);
    const q: LimitCall = { key: 'q', rule: quota(10), window: w };
    await store.take(tag, [b, q]);
    const started = Date.now();
    await store.take(tag, [b, q]);
    // 1 token left of 3 at 1 per 10 s: full in 20 s.
    between(await admin.pttl(redisLimitKey(tag, b)), 21_000 - (Date.now() - started) - 50, 21_000, 'bucket PTTL');
    const quotaTtl = await admin.pttl(redisLimitKey(tag, q));
    between(quotaTtl, w.endMs + 60_000 - Date.now() - 50, w.endMs + 60_000 - started + 50, 'quota PTTL');
    const keys = await scanKeys(admin);
    assert.ok(keys.length >= 15, `only ${keys.length} keys`); // 17 from the tests above
    for (const key of keys) {
      const ttl = await admin.pttl(key);
      assert.ok(ttl > 0, `${key} has PTTL ${ttl}`);
    }
  });
});

describe('failures', () => {
  test('Redis stopped: takes fail at once and status turns unavailable; restarted on the same port: the same store works again', async (t) => {
    const server = await startRedisServer();
    t.after(() => server.close());
    const logs = captureLogs();
    const conn = connect({ url: server.url, commandTimeoutMs: 200, logger: logs.logger });
    t.after(() => conn.close());
    const statuses: RedisStatus[] = [];
    conn.onStatus((s) => statuses.push(s));
    const store = new RedisLimitStore(conn);
    const tag = freshTag();
    const calls: LimitCall[] = [{ key: 'k', rule: bucket(1, HOUR, 100) }];
    await untilReady(conn);
    assert.equal((await store.take(tag, calls)).allowed, true);

    // Killed with takes in flight: every one settles, none waits for a reconnect (nor is replayed after it).
    const inFlight = Promise.allSettled(Array.from({ length: 500 }, () => store.take(tag, calls))); // handled from the start
    const killedAt = Date.now();
    await server.stop(0);
    const settled = await inFlight;
    assert.ok(Date.now() - killedAt < 200 + 300, `in-flight takes settled after ${Date.now() - killedAt} ms`);
    for (const r of settled) if (r.status === 'rejected') assert.ok(r.reason instanceof RedisLimitError);
    await eventually(async () => conn.status() === 'unavailable', 'status unavailable', 5_000, 10);
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const err = await rejection(store.take(tag, calls));
      assert.ok(Date.now() - started < 200 + 100, `rejected after ${Date.now() - started} ms`);
      assert.equal(err.reason, 'unavailable');
      assert.match(err.message, /ECONNREFUSED|unavailable|closed/i);
    }
    // Let a few reconnect attempts fail: still one transition, logged once.
    await new Promise((resolve) => setTimeout(resolve, 300));

    await server.restart();
    await eventually(async () => (await store.take(tag, calls).catch(() => null))?.allowed === true, 'a take after the restart', 10_000, 20);
    assert.equal(conn.status(), 'ready');
    assert.deepEqual(statuses, ['ready', 'unavailable', 'ready']);
    const messages = logs.messages();
    assert.equal(messages.filter((m) => m === 'redis connection unavailable').length, 1);
    assert.equal(messages.filter((m) => m === 'redis connection ready').length, 2);
  });

  test('a hung Redis (SIGSTOP): a take fails after commandTimeout, not later, and works once it answers again', async (t) => {
    const server = await startRedisServer();
    t.after(() => server.close());
    const conn = connect({ url: server.url, commandTimeoutMs: 200 });
    t.after(() => conn.close());
    const store = new RedisLimitStore(conn);
    const tag = freshTag();
    const calls: LimitCall[] = [{ key: 'k', rule: bucket(1, HOUR, 100) }];
    await untilReady(conn);
    assert.equal((await store.take(tag, calls)).allowed, true);
    server.pause();
    try {
      const started = Date.now();
      const err = await rejection(store.take(tag, calls));
      const took = Date.now() - started;
      between(took, 190, 200 + 300, 'ms until the timeout');
      assert.equal(err.reason, 'timeout');
    } finally {
      server.resume();
    }
    await eventually(async () => (await store.take(tag, calls).catch(() => null))?.allowed === true, 'a take after SIGCONT', 5_000, 20);
  });

  test('never connected: a take fails at once (no queue), with the connection error once known', async (t) => {
    const port = await freeRedisPort();
    const conn = connect({ url: `redis://127.0.0.1:${port}` });
    t.after(() => conn.close());
    const store = new RedisLimitStore(conn);
    const tag = freshTag();
    const calls: LimitCall[] = [{ key: 'k', rule: bucket(1, HOUR, 100) }];
    assert.equal(conn.status(), 'connecting');
    const first = await rejection(store.take(tag, calls));
    assert.equal(first.reason, 'unavailable');
    await eventually(async () => conn.status() === 'unavailable', 'status unavailable', 5_000, 10);
    const started = Date.now();
    const err = await rejection(store.take(tag, calls));
    assert.ok(Date.now() - started < 50);
    assert.match(err.message, /ECONNREFUSED/);
  });
});

describe('password', () => {
  const password = randomBytes(16).toString('hex');
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer({ password });
  });
  after(() => server?.close());

  test('the right password works; the URL in logs has it masked', async (t) => {
    const logs = captureLogs();
    const conn = connect({ url: `redis://:${password}@127.0.0.1:${server.port}`, logger: logs.logger });
    t.after(() => conn.close());
    await untilReady(conn);
    assert.equal((await new RedisLimitStore(conn).take(freshTag(), [{ key: 'k', rule: bucket(1, HOUR, 1) }])).allowed, true);
    assert.equal(conn.target, `redis://:***@127.0.0.1:${server.port}`);
    assert.ok(logs.messages().includes('redis connection ready'));
    assert.ok(logs.text().includes(':***@'));
    assert.ok(!logs.text().includes(password), 'the password is in a log line');
  });

  test('a wrong or missing password: takes fail and status is unavailable, and no error or log line holds the password', async (t) => {
    const wrong = randomBytes(16).toString('hex');
    const cases = [
      { name: 'wrong, in the URL', url: `redis://:${wrong}@127.0.0.1:${server.port}`, expect: /WRONGPASS/ },
      { name: 'wrong, as an option', url: server.url, password: wrong, expect: /WRONGPASS/ },
      { name: 'missing', url: server.url, expect: /NOAUTH/ },
    ];
    for (const c of cases) {
      const logs = captureLogs();
      const conn = connect({ url: c.url, password: c.password, logger: logs.logger });
      t.after(() => conn.close());
      const statuses: RedisStatus[] = [];
      conn.onStatus((s) => statuses.push(s));
      await eventually(async () => conn.status() === 'unavailable' && conn.lastError() !== undefined, `${c.name}: unavailable`, 5_000, 10);
      const err = await rejection(new RedisLimitStore(conn).take(freshTag(), [{ key: 'k', rule: bucket(1, HOUR, 1) }]));
      assert.equal(err.reason, 'unavailable');
      assert.match(err.message, c.expect, c.name);
      assert.match(logs.text(), c.expect, `${c.name}: the transition log says why`);
      await conn.close();
      for (const text of [err.message, String(err.stack), logs.text(), conn.target]) {
        assert.ok(!text.includes(wrong), `${c.name}: the wrong password leaked: ${text}`);
        assert.ok(!text.includes(password), `${c.name}: the password leaked: ${text}`);
      }
      assert.equal(logs.messages().filter((m) => m === 'redis connection unavailable').length, 1, `${c.name}: logged once`);
      assert.deepEqual(statuses, ['unavailable'], c.name);
    }
  });

  test('an invalid URL or cluster node is refused without echoing it', () => {
    const secret = randomBytes(8).toString('hex');
    for (const url of [`redis://:${secret}@[::1`, `http://:${secret}@127.0.0.1:1`, `redis://:${secret}@127.0.0.1:1/x`]) {
      assert.throws(
        () => connect({ url }),
        (err: Error) => !err.message.includes(secret) && /redis:/.test(err.message),
      );
    }
    assert.throws(
      () => connect({ clusterNodes: ['127.0.0.1:7000', `redis://:${secret}@127.0.0.1:7001`] }),
      (err: Error) => !err.message.includes(secret) && /node #2/.test(err.message),
    );
  });
});

describe('TLS (rediss://)', () => {
  let tls: Awaited<ReturnType<typeof createTlsFiles>>;
  let server: RedisServer;
  const password = randomBytes(16).toString('hex');
  before(async () => {
    tls = await createTlsFiles();
    server = await startRedisServer({ tls, password });
  });
  after(async () => {
    await server?.close();
    await tls?.close();
  });

  test('a rediss:// URL connects over TLS, trusting the given CA; without it the certificate is refused', async (t) => {
    assert.match(server.url, /^rediss:/);
    const url = server.url.replace('rediss://', `rediss://:${password}@`);
    const logs = captureLogs();
    const good = connect({ url, caPem: tls.certPem, logger: logs.logger });
    t.after(() => good.close());
    await untilReady(good);
    assert.equal((await new RedisLimitStore(good).take(freshTag(), [{ key: 'k', rule: bucket(1, HOUR, 1) }])).allowed, true);

    const untrusted = connect({ url, logger: logs.logger });
    t.after(() => untrusted.close());
    await eventually(async () => untrusted.status() === 'unavailable' && untrusted.lastError() !== undefined, 'the untrusted one unavailable', 5_000, 10);
    assert.match(untrusted.lastError() ?? '', /certificate/i);
    const err = await rejection(new RedisLimitStore(untrusted).take(freshTag(), [{ key: 'k', rule: bucket(1, HOUR, 1) }]));
    assert.match(err.message, /certificate/i);
    assert.ok(!logs.text().includes(password) && !err.message.includes(password));
  });
});

describe('Redis Cluster (3 masters)', () => {
  let cluster: RedisCluster;
  let conn: RedisConnection;
  let store: RedisLimitStore;
  let admin: Cluster;

  before(async () => {
    cluster = await startRedisCluster(3);
    conn = connect({ clusterNodes: cluster.seeds });
    store = new RedisLimitStore(conn);
    admin = new Cluster(cluster.seeds.map((s) => ({ host: s.split(':')[0], port: Number(s.split(':')[1]) })));
    await untilReady(conn);
  });
  after(async () => {
    await conn?.close();
    admin?.disconnect();
    await cluster?.close();
  });

  /** The master port serving a slot, from CLUSTER SLOTS. */
  async function ownerOf(slot: number): Promise<number> {
    const ranges = await admin.cluster('SLOTS');
    const master = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
    assert.ok(master, `no owner for slot ${slot}`);
    return master[1];
  }

  test('the keys of one take share one slot (CLUSTER KEYSLOT), so multi-counter takes run as one script', async () => {
    const tag = freshTag();
    const calls: LimitCall[] = [
      { key: 'consumer:acme', rule: bucket(10, 1_000, 5) },
      { key: 'consumer:acme', rule: quota(100), window: windowEndingIn(60_000, '2026-11-30') },
      { key: 'ip:10.0.0.1', rule: bucket(1, HOUR, 2) },
      { key: 'z'.repeat(300), rule: bucket(1, HOUR, 2) },
    ];
    const slots = await Promise.all(calls.map((c) => admin.cluster('KEYSLOT', redisLimitKey(tag, c)) as Promise<number>));
    assert.equal(new Set(slots).size, 1, `slots ${slots.join(',')}`);
    const r = await store.take(tag, calls);
    assert.equal(r.allowed, true);
    assert.deepEqual(
      r.states.map((s) => s.remaining),
      [4, 99, 1, 1],
    );
  });

  test('20 policies spread over the 3 masters: every take works, all or nothing, and every key expires', async () => {
    const tags = Array.from({ length: 20 }, () => freshTag());
    const w = windowEndingIn(60_000);
    const calls: LimitCall[] = [
      { key: 'a', rule: bucket(1, HOUR, 2) },
      { key: 'q', rule: quota(1), window: w },
    ];
    const owners = new Set<number>();
    for (const tag of tags) owners.add(await ownerOf((await admin.cluster('KEYSLOT', redisLimitKey(tag, calls[0] as LimitCall))) as number));
    assert.equal(owners.size, 3, `the tags land on masters ${[...owners].join(',')}`);
    const first = await Promise.all(tags.map((tag) => store.take(tag, calls)));
    assert.ok(first.every((r) => r.allowed));
    // The quota (limit 1) now refuses: the bucket must be left as it is.
    const second = await Promise.all(tags.map((tag) => store.take(tag, calls)));
    assert.ok(second.every((r) => !r.allowed && r.states[0]?.allowed === true && r.states[0]?.remaining === 1));
    for (const tag of tags) {
      for (const call of calls) {
        const ttl = await admin.pttl(redisLimitKey(tag, call));
        assert.ok(ttl > 0, `${redisLimitKey(tag, call)}: PTTL ${ttl}`);
      }
    }
  });

  test('2,000 concurrent takes from 3 clients on a bucket of burst 500 admit exactly 500', async () => {
    assert.equal(await concurrentTakes(() => connect({ clusterNodes: cluster.seeds })), 500);
  });

  // Last: it stops nodes of the shared cluster (and waits for them to serve again).
  test('a master down: its slots fail at once, the rest go on; all down: unavailable; restarted: every take works again', async (t) => {
    const logs = captureLogs();
    const c = connect({ clusterNodes: cluster.seeds, commandTimeoutMs: 300, logger: logs.logger });
    t.after(() => c.close());
    const s = new RedisLimitStore(c);
    await untilReady(c);
    const calls: LimitCall[] = [{ key: 'k', rule: bucket(1, HOUR, 1_000) }];
    const tags = Array.from({ length: 12 }, () => freshTag());
    const victim = cluster.nodes[1] as RedisServer;
    const onVictim = new Set<string>();
    for (const tag of tags) if ((await ownerOf((await admin.cluster('KEYSLOT', redisLimitKey(tag, calls[0] as LimitCall))) as number)) === victim.port) onVictim.add(tag);
    assert.ok(onVictim.size > 0 && onVictim.size < tags.length, `${onVictim.size} of ${tags.length} tags on the victim`);
    /** One take per tag, at once: the tags whose take failed, and how long the round took. */
    const round = async (): Promise<{ failed: Set<string>; ms: number; errors: RedisLimitError[] }> => {
      const started = Date.now();
      const settled = await Promise.allSettled(tags.map((tag) => s.take(tag, calls)));
      const failed = new Set<string>();
      const errors: RedisLimitError[] = [];
      settled.forEach((r, i) => {
        if (r.status === 'rejected') {
          failed.add(tags[i] as string);
          errors.push(r.reason as RedisLimitError);
        }
      });
      return { failed, ms: Date.now() - started, errors };
    };
    assert.equal((await round()).failed.size, 0);

    await victim.stop();
    let last = await round();
    await eventually(async () => ((last = await round()), last.failed.size === onVictim.size), 'only the stopped master to fail', 5_000, 20);
    assert.deepEqual([...last.failed].sort(), [...onVictim].sort());
    assert.ok(last.ms < 150, `a round took ${last.ms} ms`);
    assert.ok(last.errors.every((e) => e.reason === 'unavailable'), last.errors.map((e) => e.message).join('; '));
    assert.equal(c.status(), 'ready', 'the other masters still answer');

    const others = cluster.nodes.filter((n) => n !== victim);
    await Promise.all(others.map((n) => n.stop()));
    await eventually(async () => c.status() === 'unavailable', 'status unavailable with every master down', 5_000, 10);
    const downStart = Date.now();
    await rejection(s.take(tags[0] as string, calls));
    assert.ok(Date.now() - downStart < 150);

    await Promise.all(cluster.nodes.map((n) => n.restart()));
    await eventually(async () => (await round()).failed.size === 0, 'every take to work again', 20_000, 50);
    assert.equal(c.status(), 'ready');
    const messages = logs.messages();
    assert.equal(messages.filter((m) => m === 'redis connection unavailable').length, 1);
    assert.equal(messages.filter((m) => m === 'redis connection ready').length, 2);
    assert.equal(messages.filter((m) => m === 'redis cluster node unavailable').length, 3, messages.join(', '));
    assert.ok(messages.includes('redis cluster node ready'));
  });
});

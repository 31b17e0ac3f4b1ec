// Rate limits end to end: a real client → an in-process gateway → a real upstream, with Local limits only (no Redis;
// Global limits and the fleet are tested with a real Redis elsewhere). Rates are 1 per hour, so refill never moves a
// count during a test; a RateLimit `t` may be one second short only when the test itself ran for over a second.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TableRatePolicy } from '../../proxy/table/table-schema.ts';
import { apiKeyAuthorizer, auth, metricValue, newSalt, sampleOf, scrapeMetrics } from './helpers/authorizers.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { errorBody, send, type Reply } from './helpers/http-client.ts';
import { bucket, byClientIp, byConsumer, HOUR_MS, limit, rateLimitItems, ratePolicy } from './helpers/rate-policies.ts';
import { backend, route, table } from './helpers/tables.ts';
import { startEcho, startUpstream, type EchoReply } from './helpers/upstreams.ts';

const DECISIONS = 'gatehouse_rate_limit_decisions_total';

/** A per-client-IP policy "test/<name>" of `burst` requests, one more per hour. */
function perIp(name: string, burst: number, extra: Partial<TableRatePolicy> = {}): TableRatePolicy {
  return ratePolicy(`test/${name}`, [limit('per-ip', byClientIp, bucket(1, HOUR_MS, burst))], extra);
}

/** Sends `n` requests one after another and returns their statuses. */
async function statuses(port: number, path: string, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send(port, path, { headers })).status);
  return out;
}

const times = (n: number, status: number): number[] => Array.from({ length: n }, () => status);

/**
 * A seconds value computed from real time: exact while the test has run for less than a second since `since`
 * (performance.now()), else possibly one second less (the hour-long refill moved by that second).
 */
function assertSeconds(actual: number | undefined, expected: number, since: number, what: string): void {
  if (performance.now() - since < 1_000) assert.equal(actual, expected, what);
  else assert.ok(actual === expected || actual === expected - 1, `${what}: ${actual}, expected ${expected} (or one less after ${Math.round(performance.now() - since)} ms)`);
}

function assertLimited(reply: Reply, requestId?: string): void {
  assert.equal(reply.status, 429, `expected a 429, got ${reply.status}: ${reply.body}`);
  const body = errorBody(reply);
  assert.equal(body.error, 'too many requests');
  if (requestId !== undefined) assert.equal(body.requestId, requestId);
  assert.match(String(reply.headers['retry-after']), /^[1-9]\d*$/, 'Retry-After in whole seconds');
}

test('per-IP bucket: the burst is admitted, then 429 with a JSON error, whole-second Retry-After and RateLimit fields that replace the upstream\'s own', async (t) => {
  // An upstream that sends RateLimit fields of its own: the gateway's must win on a throttled route.
  const up = await startUpstream('up', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'up', ratelimit: '"upstream";r=999;t=1', 'ratelimit-policy': '"upstream";q=1000;w=60' }).end('ok');
  });
  closeAfter(t, up);
  const gw = await startTestGateway(
    t,
    table([route('api', '/api', ['be'], { ratePolicies: ['test/per-ip'] }), route('open', '/open', ['be'])], [backend('be', [up.port])], undefined, [], [perIp('per-ip', 3)]),
  );
  const started = performance.now();
  const POLICY = '"per-ip/per-ip";q=3;w=10800';
  for (const left of [2, 1, 0]) {
    const reply = await send(gw.port, '/api');
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.headers['x-upstream'], 'up', "the upstream's answer");
    assert.equal(reply.headers['ratelimit-policy'], POLICY, "the gateway's, not the upstream's");
    const items = rateLimitItems(reply.headers.ratelimit);
    assert.deepEqual(Object.keys(items), ['per-ip/per-ip'], `one item, the upstream's gone: ${reply.headers.ratelimit}`);
    assert.equal(items['per-ip/per-ip']?.r, left);
    // Full again in (3 − left) hours.
    assertSeconds(items['per-ip/per-ip']?.t, (3 - left) * 3_600, started, `t with ${left} left`);
  }

  const refused = await send(gw.port, '/api', { headers: { 'x-request-id': 'req-over-the-limit' } });
  assertLimited(refused, 'req-over-the-limit');
  assert.equal(refused.headers['content-type'], 'application/json');
  assert.equal(refused.headers['cache-control'], 'no-store');
  assertSeconds(Number(refused.headers['retry-after']), 3_600, started, 'Retry-After: the next token, an hour away');
  assert.equal(refused.headers['ratelimit-policy'], POLICY);
  const items = rateLimitItems(refused.headers.ratelimit);
  assert.equal(items['per-ip/per-ip']?.r, 0);
  assertSeconds(items['per-ip/per-ip']?.t, 10_800, started, 't on the 429');
  assert.equal(up.hits(), 3, 'the refused request never reached the upstream');
  assertLimited(await send(gw.port, '/api'));
  assert.equal(up.hits(), 3);

  // A route without a RatePolicy passes the upstream's fields through untouched.
  const open = await send(gw.port, '/open');
  assert.equal(open.status, 200);
  assert.equal(open.headers.ratelimit, '"upstream";r=999;t=1');
  assert.equal(open.headers['ratelimit-policy'], '"upstream";q=1000;w=60');
});

test('a spoofed X-Forwarded-For from an untrusted peer gets no fresh bucket; behind a trusted proxy the forwarded client has its own', async (t) => {
  const up = await startEcho('up');
  closeAfter(t, up);
  const tableFor = () => table([route('api', '/api', ['be'], { ratePolicies: ['test/per-ip'] })], [backend('be', [up.port])], undefined, [], [perIp('per-ip', 2)]);

  const direct = await startTestGateway(t, tableFor());
  assert.deepEqual(await statuses(direct.port, '/api', 2, { 'x-forwarded-for': '10.0.0.1' }), [200, 200]);
  // Every request comes from 127.0.0.1, whatever it claims: one bucket.
  for (const xff of ['10.0.0.2', '10.0.0.3, 10.0.0.4', '198.51.100.7']) assertLimited(await send(direct.port, '/api', { headers: { 'x-forwarded-for': xff } }));
  assertLimited(await send(direct.port, '/api'));

  const behindProxy = await startTestGateway(t, tableFor(), { trustedProxies: ['127.0.0.1/32'] });
  assert.deepEqual(await statuses(behindProxy.port, '/api', 3, { 'x-forwarded-for': '10.0.0.1' }), [200, 200, 429]);
  assert.deepEqual(await statuses(behindProxy.port, '/api', 3, { 'x-forwarded-for': '10.0.0.2' }), [200, 200, 429], 'another client, another bucket');
  // The client is the rightmost address the trusted peer did not add: prepending addresses changes nothing.
  assertLimited(await send(behindProxy.port, '/api', { headers: { 'x-forwarded-for': '10.0.0.99, 10.0.0.1' } }));
  // No header: the trusted peer itself is the client, with a bucket of its own.
  assert.deepEqual(await statuses(behindProxy.port, '/api', 3), [200, 200, 429]);
  assert.equal(up.hits(), 2 + 6);
});

test('a RatePolicy named by two routes shares one counter: a limit of 5 on /a and /b admits 5 in all, not 10', async (t) => {
  const up = await startEcho('up');
  closeAfter(t, up);
  const perRoute = ratePolicy('test/per-route', [limit('per-route', [{ type: 'clientIp' }, { type: 'route' }], bucket(1, HOUR_MS, 2))]);
  const gw = await startTestGateway(
    t,
    table(
      [
        route('a', '/a', ['be'], { ratePolicies: ['test/shared'] }),
        route('b', '/b', ['be'], { ratePolicies: ['test/shared'] }),
        route('c', '/c', ['be'], { ratePolicies: ['test/per-route'] }),
        route('d', '/d', ['be'], { ratePolicies: ['test/per-route'] }),
      ],
      [backend('be', [up.port])],
      undefined,
      [],
      [perIp('shared', 5), perRoute],
    ),
  );
  const seen: number[] = [];
  for (const path of ['/a', '/b', '/a', '/b', '/a', '/b', '/a', '/b']) seen.push((await send(gw.port, path)).status);
  assert.deepEqual(seen, [...times(5, 200), ...times(3, 429)]);
  assert.equal(up.hits(), 5);
  const last = await send(gw.port, '/b');
  assert.equal(rateLimitItems(last.headers.ratelimit)['shared/per-ip']?.r, 0);

  // A limit keyed by route as well counts per ApiRoute rule.
  assert.deepEqual(await statuses(gw.port, '/c', 3), [200, 200, 429]);
  assert.deepEqual(await statuses(gw.port, '/d', 3), [200, 200, 429]);
});

test('API keys and plans: free (burst 2) and paid (burst 5) consumers get their plan\'s limit, each consumer its own bucket', async (t) => {
  const up = await startEcho('up');
  closeAfter(t, up);
  const salt = newSalt();
  const alice = { key: 'alice-3c9a7b1d2e4f0f5e', consumer: 'alice', plan: 'free' };
  const carol = { key: 'carol-6d1e2f3a4b5c6d7e', consumer: 'carol', plan: 'free' };
  const bob = { key: 'bob-2f0b1d3a5c8a6c4e', consumer: 'bob', plan: 'paid' };
  const plans = ratePolicy('test/plans', [], {
    plans: [
      { name: 'free', limits: [limit('throttle', byConsumer, bucket(1, HOUR_MS, 2))] },
      { name: 'paid', limits: [limit('throttle', byConsumer, bucket(1, HOUR_MS, 5))] },
    ],
  });
  const gw = await startTestGateway(
    t,
    table([route('plans', '/plans', ['be'], { auth: auth('test/keys'), ratePolicies: ['test/plans'] })], [backend('be', [up.port])], undefined, [apiKeyAuthorizer('test/keys', salt, [alice, carol, bob])], [plans]),
  );
  const as = (who: { key: string }) => ({ 'x-api-key': who.key });

  const first = await send(gw.port, '/plans', { headers: as(alice) });
  assert.equal(first.status, 200, first.body);
  assert.equal(first.json<EchoReply>().headers['x-consumer'], 'alice');
  assert.equal(first.headers['ratelimit-policy'], '"plans/free/throttle";q=2;w=7200');
  assert.equal(rateLimitItems(first.headers.ratelimit)['plans/free/throttle']?.r, 1);
  assert.deepEqual(await statuses(gw.port, '/plans', 2, as(alice)), [200, 429]);

  // Carol is on the same plan: a bucket of her own, not alice's empty one.
  assert.deepEqual(await statuses(gw.port, '/plans', 3, as(carol)), [200, 200, 429]);

  const paid = await send(gw.port, '/plans', { headers: as(bob) });
  assert.equal(paid.status, 200);
  assert.equal(paid.headers['ratelimit-policy'], '"plans/paid/throttle";q=5;w=18000');
  assert.equal(rateLimitItems(paid.headers.ratelimit)['plans/paid/throttle']?.r, 4);
  assert.deepEqual(await statuses(gw.port, '/plans', 5, as(bob)), [200, 200, 200, 200, 429]);

  // Authorization comes first: a request without a key is refused 401 and counts against nobody.
  const anonymous = await send(gw.port, '/plans');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.ratelimit, undefined);
  assert.equal(up.hits(), 2 + 2 + 5);

  const metrics = await scrapeMetrics(gw.adminPort);
  const count = (name: string, result: string): number => sampleOf(metrics, DECISIONS, { policy: 'test/plans', limit: name, result });
  assert.equal(count('free/throttle', 'allowed'), 4);
  assert.equal(count('free/throttle', 'limited'), 2);
  assert.equal(count('paid/throttle', 'allowed'), 5);
  assert.equal(count('paid/throttle', 'limited'), 1);
});

test('a route naming a RatePolicy the table lacks answers 500 and the upstream never sees the request', async (t) => {
  const up = await startEcho('up');
  closeAfter(t, up);
  const gw = await startTestGateway(
    t,
    table(
      [route('broken', '/broken', ['be'], { ratePolicies: ['test/present', 'test/absent'] }), route('fine', '/fine', ['be'], { ratePolicies: ['test/present'] })],
      [backend('be', [up.port])],
      undefined,
      [],
      [perIp('present', 10)],
    ),
  );
  for (let i = 0; i < 3; i++) {
    const reply = await send(gw.port, '/broken', { headers: { 'x-request-id': `req-broken-${i}` } });
    assert.equal(reply.status, 500, reply.body);
    assert.deepEqual(errorBody(reply), { error: 'rate policy unavailable', requestId: `req-broken-${i}` });
    assert.equal(reply.headers.ratelimit, undefined);
  }
  assert.equal(up.hits(), 0);
  // The present policy was not charged by the refused requests: its whole burst is left.
  const fine = await send(gw.port, '/fine');
  assert.equal(fine.status, 200);
  assert.equal(rateLimitItems(fine.headers.ratelimit)['present/per-ip']?.r, 9);
  assert.equal(up.hits(), 1);
});

test('a table swap that changes an unrelated route keeps the counters', async (t) => {
  const up = await startEcho('up');
  closeAfter(t, up);
  const backends = [backend('be', [up.port])];
  const limited = route('limited', '/limited', ['be'], { ratePolicies: ['test/per-ip'] });
  const other = (value: string) => route('other', '/other', ['be'], { requestHeaders: { set: [['x-version', value]], add: [], remove: [] } });
  const gw = await startTestGateway(t, table([limited, other('v1')], backends, 'v1', [], [perIp('per-ip', 2)]));
  assert.deepEqual(await statuses(gw.port, '/limited', 3), [200, 200, 429]);

  assert.deepEqual(gw.applyTable(table([limited, other('v2')], backends, 'v2', [], [perIp('per-ip', 2)])), { ok: true, version: 'v2' });
  const changed = await send(gw.port, '/other');
  assert.equal(changed.json<EchoReply>().headers['x-version'], 'v2', 'the new table serves');
  const after = await send(gw.port, '/limited');
  assertLimited(after);
  assert.equal(rateLimitItems(after.headers.ratelimit)['per-ip/per-ip']?.r, 0, 'still drained');
  assert.equal(up.hits(), 2 + 1);
});

test('metrics: gatehouse_rate_limit_decisions_total counts allowed and limited per policy and limit; the local counters are a gauge', async (t) => {
  const up = await startEcho('up');
  closeAfter(t, up);
  const gw = await startTestGateway(
    t,
    table([route('api', '/api', ['be'], { ratePolicies: ['test/metered'] })], [backend('be', [up.port])], undefined, [], [perIp('metered', 2, { headers: 'never' })]),
  );
  const labels = (result: string) => ({ policy: 'test/metered', limit: 'per-ip', result });
  assert.equal(await metricValue(gw.adminPort, DECISIONS, labels('allowed')), 0);
  assert.deepEqual(await statuses(gw.port, '/api', 5), [200, 200, 429, 429, 429]);
  const text = await scrapeMetrics(gw.adminPort);
  assert.equal(sampleOf(text, DECISIONS, labels('allowed')), 2);
  assert.equal(sampleOf(text, DECISIONS, labels('limited')), 3);
  assert.equal(sampleOf(text, DECISIONS, labels('fallback')), 0);
  assert.match(text, /^gatehouse_rate_limit_local_keys 1$/m, 'one client, one counter');
  assert.match(text, /^gatehouse_rate_limit_fleet_proxies 1$/m);
  // headers: never still answers 429s with Retry-After only.
  const refused = await send(gw.port, '/api');
  assertLimited(refused);
  assert.equal(refused.headers.ratelimit, undefined);
  assert.equal(refused.headers['ratelimit-policy'], undefined);
});

// A label-less gauge always exports a value, and `gatehouse_redis_up 0` would read as "Redis down" (and page someone).
test('no Redis configured: the gatehouse_redis_up gauge is not exported', async (t) => {
  const gw = await startTestGateway(t, table([], [], undefined, [], []));
  const text = await scrapeMetrics(gw.adminPort);
  assert.match(text, /^gatehouse_rate_limit_local_keys 0$/m, 'the rate-limit gauges are there');
  assert.doesNotMatch(text, /^gatehouse_redis_up /m, 'no Redis configured: no gatehouse_redis_up sample');
});

// The access log end to end: a real client → an in-process gateway → real upstreams; the gateway's log lines parsed.
// Every field of a proxied exchange, the lines of errors the gateway answers itself (404, 401, 429, 502), secrets
// never logged, W3C traceparent handling, and sampling (errors always logged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiKeyAuthorizer, auth, newSalt } from './helpers/authorizers.ts';
import { closeAfter, startTestGateway, type Gateway, type LogSink } from './helpers/gateway.ts';
import { send } from './helpers/http-client.ts';
import { bucket, byClientIp, HOUR_MS, limit, ratePolicy } from './helpers/rate-policies.ts';
import { backend, route, table } from './helpers/tables.ts';
import { refusedPort, startEcho, type EchoReply } from './helpers/upstreams.ts';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const alice = { key: 'alice-key-7d3f0b9c1e5a2468', consumer: 'alice' };

type Line = Record<string, unknown>;

/** A gateway with: /open (no policy) and /keys (API keys, 1 request per hour per IP) to an echo upstream, /down to a refused port. */
async function setup(t: Parameters<typeof startTestGateway>[0], sample?: number): Promise<{ gw: Gateway & { logs: LogSink }; upPort: number }> {
  const up = await startEcho('up');
  closeAfter(t, up);
  const down = await refusedPort();
  const routes = [
    route('open', '/open', ['be']),
    route('keys', '/keys', ['be'], { auth: auth('test/keys') }),
    route('limited', '/limited', ['be'], { auth: auth('test/keys'), ratePolicies: ['test/one'] }),
    route('down', '/down', ['dead'], { retries: { attempts: 0 } }),
  ];
  const gw = await startTestGateway(
    t,
    table(routes, [backend('be', [up.port]), backend('dead', [down])], undefined, [apiKeyAuthorizer('test/keys', newSalt(), [alice])], [
      ratePolicy('test/one', [limit('one', byClientIp, bucket(1, HOUR_MS, 1))]),
    ]),
    sample === undefined ? {} : { accessLog: { sample } },
  );
  return { gw, upPort: up.port };
}

function requestLines(gw: { logs: LogSink }): Line[] {
  return gw.logs.lines.filter((l) => l.msg === 'request');
}

function lineOf(gw: { logs: LogSink }, requestId: string): Line {
  const found = requestLines(gw).filter((l) => l.requestId === requestId);
  assert.equal(found.length, 1, `one access-log line for ${requestId}, got ${found.length}`);
  return found[0] as Line;
}

function assertCommon(line: Line, want: { requestId: string; method: string; path: string; route: string; status: number }): void {
  for (const [k, v] of Object.entries(want)) assert.equal(line[k], v, k);
  assert.equal(line.level, want.status >= 500 ? 40 : 30);
  assert.equal(line.component, 'proxy');
  assert.equal(typeof line.time, 'number');
  assert.ok(Math.abs((line.time as number) - Date.now()) < 60_000, 'time is now, in ms');
  assert.equal(typeof line.ms, 'number');
  assert.ok((line.ms as number) >= 0);
  assert.match(String(line.traceId), /^[0-9a-f]{32}$/);
  assert.equal(typeof line.bytesIn, 'number');
  assert.equal(typeof line.bytesOut, 'number');
}

test('a proxied request with a body: every field, bytes in and out as sent, upstream timing and address, the consumer', async (t) => {
  const { gw, upPort } = await setup(t);
  const body = 'x'.repeat(3000);
  const reply = await send(gw.port, '/keys/items?page=2', { method: 'POST', body, headers: { 'x-api-key': alice.key, 'x-request-id': 'req-post' } });
  assert.equal(reply.status, 200);
  assert.equal(reply.json<EchoReply>().bodyBytes, 3000);
  const line = lineOf(gw, 'req-post');
  assertCommon(line, { requestId: 'req-post', method: 'POST', path: '/keys/items', route: 'keys', status: 200 });
  assert.equal(line.bytesIn, 3000);
  assert.equal(line.bytesOut, Buffer.byteLength(reply.body));
  assert.equal(line.upstream, `127.0.0.1:${upPort}`);
  assert.equal(line.consumer, 'alice');
  assert.equal(typeof line.upstreamMs, 'number');
  assert.ok((line.upstreamMs as number) >= 0 && (line.upstreamMs as number) <= (line.ms as number), 'upstream time within the total');
  assert.equal(line.error, undefined);
  // The trace id logged is the one the upstream got.
  assert.equal(TRACEPARENT.exec(String(reply.json<EchoReply>().headers.traceparent))?.[1], line.traceId);

  const get = await send(gw.port, '/open', { headers: { 'x-request-id': 'req-get' } });
  const open = lineOf(gw, 'req-get');
  assertCommon(open, { requestId: 'req-get', method: 'GET', path: '/open', route: 'open', status: 200 });
  assert.equal(open.bytesIn, 0);
  assert.equal(open.bytesOut, Buffer.byteLength(get.body));
  assert.equal(open.consumer, undefined, 'no consumer on a route that authenticates no one');
});

test('errors the gateway answers: 404, 401, 429 and a 502 from a refused upstream, each with its error kind', async (t) => {
  const { gw } = await setup(t);
  const expect = async (path: string, requestId: string, status: number, headers: Record<string, string> = {}): Promise<Line> => {
    const reply = await send(gw.port, path, { headers: { 'x-request-id': requestId, ...headers } });
    assert.equal(reply.status, status, `${path}: ${reply.body}`);
    const line = lineOf(gw, requestId);
    assert.equal(line.bytesOut, Buffer.byteLength(reply.body), 'bytes out: the JSON error body');
    assert.equal(line.bytesIn, 0);
    return line;
  };
  const missing = await expect('/nowhere?x=1', 'req-404', 404);
  assertCommon(missing, { requestId: 'req-404', method: 'GET', path: '/nowhere', route: '(none)', status: 404 });
  assert.equal(missing.error, 'no route');
  assert.equal(missing.upstream, undefined);
  assert.equal(missing.upstreamMs, undefined);

  const unauthorized = await expect('/keys', 'req-401', 401, { 'x-api-key': 'wrong' });
  assertCommon(unauthorized, { requestId: 'req-401', method: 'GET', path: '/keys', route: 'keys', status: 401 });
  assert.equal(unauthorized.error, 'invalid credentials');
  assert.equal(unauthorized.consumer, undefined);

  await expect('/limited', 'req-first', 200, { 'x-api-key': alice.key });
  const limited = await expect('/limited', 'req-429', 429, { 'x-api-key': alice.key });
  assertCommon(limited, { requestId: 'req-429', method: 'GET', path: '/limited', route: 'limited', status: 429 });
  assert.equal(limited.error, 'too many requests');
  assert.equal(limited.consumer, 'alice', 'a refusal after authentication names the consumer');

  const refused = await expect('/down', 'req-502', 502);
  assertCommon(refused, { requestId: 'req-502', method: 'GET', path: '/down', route: 'down', status: 502 });
  assert.equal(refused.error, 'ECONNREFUSED');
  assert.match(String(refused.upstream), /^127\.0\.0\.1:\d+$/);
  assert.equal(refused.upstreamMs, undefined, 'no upstream response, no upstream time');
});

test('credentials and query strings never reach the log, whatever the outcome', async (t) => {
  const { gw } = await setup(t);
  const secrets = {
    bearer: 'bearer-secret-5f1c2a9d8e7b',
    cookie: 'cookie-secret-0a9b8c7d6e5f',
    apiKey: alice.key,
    query: 'query-secret-1b2c3d4e5f6a',
    wrongKey: 'wrong-key-secret-9e8d7c6b5a4f',
  };
  const statuses = new Set<number>();
  for (const apiKey of [secrets.apiKey, secrets.wrongKey]) {
    const headers = { authorization: `Bearer ${secrets.bearer}`, cookie: `session=${secrets.cookie}`, 'x-api-key': apiKey };
    for (const path of ['/open', '/keys', '/limited', '/limited', '/nowhere', '/down']) {
      statuses.add((await send(gw.port, `${path}?token=${secrets.query}&a=b`, { headers })).status);
      statuses.add((await send(gw.port, `${path}?token=${secrets.query}`, { method: 'POST', headers, body: 'payload' })).status);
    }
  }
  for (const status of [200, 401, 404, 429, 502]) assert.ok(statuses.has(status), `a ${status} among ${[...statuses].join(', ')}`);
  assert.equal(requestLines(gw).length, 24);
  const logged = gw.logs.lines.map((l) => JSON.stringify(l)).join('\n');
  for (const [what, secret] of Object.entries(secrets)) assert.ok(!logged.includes(secret), `${what} logged`);
  assert.ok(!logged.includes('token='), 'no query string');
});

test('traceparent: created when absent, continued with a new parent id when valid, replaced when invalid', async (t) => {
  const { gw } = await setup(t);
  const upstreamTrace = async (requestId: string, headers: Record<string, string> = {}): Promise<{ sent: RegExpExecArray; logged: Line; headers: EchoReply['headers'] }> => {
    const reply = await send(gw.port, '/open', { headers: { 'x-request-id': requestId, ...headers } });
    assert.equal(reply.status, 200);
    const echoed = reply.json<EchoReply>().headers;
    const sent = TRACEPARENT.exec(String(echoed.traceparent));
    assert.ok(sent !== null, `a valid traceparent upstream: ${echoed.traceparent}`);
    assert.notEqual(sent[1], '0'.repeat(32));
    assert.notEqual(sent[2], '0'.repeat(16));
    const logged = lineOf(gw, requestId);
    assert.equal(logged.traceId, sent[1], 'the trace id logged is the one sent upstream');
    return { sent, logged, headers: echoed };
  };

  const created = await upstreamTrace('tp-absent');
  assert.equal(created.sent[3], '01', 'a new trace is sampled');
  const again = await upstreamTrace('tp-absent-2');
  assert.notEqual(again.sent[1], created.sent[1], 'each request its own trace');

  const client = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
  const continued = await upstreamTrace('tp-valid', { traceparent: client, tracestate: 'vendor=abc' });
  assert.equal(continued.sent[1], '4bf92f3577b34da6a3ce929d0e0e4736', 'same trace id');
  assert.notEqual(continued.sent[2], '00f067aa0ba902b7', 'a new parent id: the gateway is a hop');
  assert.equal(continued.sent[3], '00', 'the flags kept');
  assert.equal(continued.headers.tracestate, 'vendor=abc', 'tracestate goes with its trace');

  const invalid = [
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // zero trace id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // zero parent id
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // uppercase
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // forbidden version
    '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // a version this hop does not understand
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    '00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01',
    'garbage',
  ];
  for (const [i, sent] of invalid.entries()) {
    const replaced = await upstreamTrace(`tp-invalid-${i}`, { traceparent: sent, tracestate: 'vendor=abc' });
    assert.notEqual(replaced.sent[1], '4bf92f3577b34da6a3ce929d0e0e4736', `${sent}: a new trace`);
    assert.equal(replaced.sent[3], '01');
    assert.equal(replaced.headers.tracestate, undefined, `${sent}: the old trace's tracestate is dropped`);
  }

  // A refused request's line carries the client's trace id too.
  await send(gw.port, '/nowhere', { headers: { 'x-request-id': 'tp-404', traceparent: client } });
  assert.equal(lineOf(gw, 'tp-404').traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
});

test('sampling 0: no line for a 2xx, every error still logged', async (t) => {
  const { gw } = await setup(t, 0);
  for (let i = 0; i < 20; i++) assert.equal((await send(gw.port, '/open')).status, 200);
  const statuses = [];
  statuses.push((await send(gw.port, '/nowhere')).status);
  statuses.push((await send(gw.port, '/keys', { headers: { 'x-api-key': 'wrong' } })).status);
  statuses.push((await send(gw.port, '/limited', { headers: { 'x-api-key': alice.key } })).status); // 200, not logged
  statuses.push((await send(gw.port, '/limited', { headers: { 'x-api-key': alice.key } })).status);
  statuses.push((await send(gw.port, '/down')).status);
  assert.deepEqual(statuses, [404, 401, 200, 429, 502]);
  assert.deepEqual(
    requestLines(gw).map((l) => l.status),
    [404, 401, 429, 502],
  );
});

test('sampling 0.5 over 2,000 requests logs about half of them', async (t) => {
  const { gw } = await setup(t, 0.5);
  const N = 2_000;
  const base = `http://127.0.0.1:${gw.port}/open`;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < N) {
      next++;
      const res = await fetch(base);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const logged = requestLines(gw).length;
  // Binomial(2000, 0.5): standard deviation √(2000 · 0.25) ≈ 22.4; ±5 σ fails by chance less than once in a million runs.
  const tolerance = Math.ceil(5 * Math.sqrt(N * 0.25));
  assert.ok(Math.abs(logged - N / 2) <= tolerance, `logged ${logged} of ${N}, expected ${N / 2} ± ${tolerance}`);
});

// The proxy's request metrics, scraped from a real gateway's admin port after real requests to real upstreams:
// requests by method (a bounded set), the gateway's own time apart from the upstream's, upstream failures by kind,
// and the table version served with the time it was applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { externalAuthorizer, auth, metricValue, sampleOf, scrapeMetrics } from './helpers/authorizers.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { send } from './helpers/http-client.ts';
import { backend, route, table } from './helpers/tables.ts';
import { refusedPort, startEcho, startResetting, startSlow, startUpstream } from './helpers/upstreams.ts';

const REQUESTS = 'gatehouse_requests_total';
const ADDED = 'gatehouse_added_latency_seconds';
const UPSTREAM = 'gatehouse_upstream_response_seconds';
const ERRORS = 'gatehouse_upstream_errors_total';

test('requests are counted by method; a method outside the standard set is OTHER, never its own label', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'])], [backend('be', [a.port])]));
  for (const method of ['GET', 'GET', 'POST', 'DELETE', 'PROPFIND', 'MKCOL']) assert.equal((await send(gw.port, '/x', { method })).status, 200, method);
  assert.equal((await send(gw.port, '/x', { method: 'PATCH', headers: { host: 'unknown.example' } })).status, 200);

  const text = await scrapeMetrics(gw.adminPort);
  const count = (method: string): number => sampleOf(text, REQUESTS, { route: 'r', method, status_class: '2xx' });
  assert.deepEqual(
    ['GET', 'POST', 'DELETE', 'PATCH', 'OTHER', 'PUT'].map((m) => [m, count(m)]),
    [['GET', 2], ['POST', 1], ['DELETE', 1], ['PATCH', 1], ['OTHER', 2], ['PUT', 0]],
  );
  assert.doesNotMatch(text, /PROPFIND|MKCOL/, 'a method outside the set is not a label value');
  assert.doesNotMatch(text, /gatehouse_requests_total\{route="r",method="PUT"/, 'a method never used exports no series');

  // Answered by the gateway itself: the method is counted the same way.
  assert.equal((await send(gw.port, '/x', { method: 'PUT', headers: { 'content-length': '99999999999' } })).status, 413);
  assert.equal(await metricValue(gw.adminPort, REQUESTS, { route: 'r', method: 'PUT', status_class: '4xx' }), 1);
});

test("the gateway's own time excludes the upstream's, and includes a policy's wait and the whole of its own answers", async (t) => {
  const slow = await startSlow('slow');
  const echo = await startEcho('echo');
  // An external authorizer that takes its time: the gateway waits for it before it forwards.
  const decisions = await startUpstream('decisions', (req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"allow":true}'), 300));
  });
  closeAfter(t, slow, echo, decisions);
  const gw = await startTestGateway(
    t,
    table(
      [route('slow', '/delay', ['be-slow']), route('authorized', '/authorized', ['be-echo'], { auth: auth('ext') })],
      [backend('be-slow', [slow.port]), backend('be-echo', [echo.port])],
      undefined,
      [externalAuthorizer('ext', `http://127.0.0.1:${decisions.port}/check`, { resultTtlMs: 0 })],
    ),
  );
  assert.equal((await send(gw.port, '/delay/400')).status, 200);
  assert.equal((await send(gw.port, '/authorized', { headers: { 'x-token': 't' } })).status, 200);
  assert.equal((await send(gw.port, '/nowhere')).status, 404);

  const text = await scrapeMetrics(gw.adminPort);
  // The slow upstream's 400 ms are the upstream's: the gateway's share of that request stays small.
  assert.equal(sampleOf(text, `${UPSTREAM}_count`, { route: 'slow' }), 1);
  assert.ok(sampleOf(text, `${UPSTREAM}_sum`, { route: 'slow' }) >= 0.39, 'the upstream histogram holds the 400 ms');
  assert.equal(sampleOf(text, `${ADDED}_count`, { route: 'slow' }), 1);
  assert.ok(sampleOf(text, `${ADDED}_sum`, { route: 'slow' }) < 0.1, `gateway time ${sampleOf(text, `${ADDED}_sum`, { route: 'slow' })} s excludes the upstream's wait`);
  assert.equal(sampleOf(text, `${ADDED}_bucket`, { route: 'slow', le: '0.25' }), 1);

  // The authorizer's 300 ms are the gateway's (it is a step of the route's policy), the echo's reply is not.
  assert.equal(sampleOf(text, `${ADDED}_count`, { route: 'authorized' }), 1);
  assert.equal(sampleOf(text, `${ADDED}_bucket`, { route: 'authorized', le: '0.25' }), 0, 'over 250 ms: the decision wait is counted');
  assert.ok(sampleOf(text, `${UPSTREAM}_sum`, { route: 'authorized' }) < 0.1);

  // A 404 the gateway answered itself: observed under the no-route label.
  assert.equal(sampleOf(text, `${ADDED}_count`, { route: '(none)' }), 1);
  assert.equal(sampleOf(text, REQUESTS, { route: '(none)', method: 'GET', status_class: '4xx' }), 1);
});

test('upstream failures are counted by route and kind: refused, reset, idle and request timeouts; a retried refusal too', async (t) => {
  const reset = await startResetting('reset');
  const slow = await startSlow('slow');
  const echo = await startEcho('echo');
  closeAfter(t, reset, slow, echo);
  const dead = await refusedPort();
  // Another one: an endpoint refused once is ejected for every backend that lists it.
  const deadToo = await refusedPort();
  const gw = await startTestGateway(
    t,
    table(
      [
        route('dead', '/dead', ['be-dead'], { retries: { attempts: 0 } }),
        route('reset', '/reset', ['be-reset']),
        route('idle', '/idle', ['be-slow'], { rewrite: { kind: 'prefix', from: '/idle', to: '' }, timeouts: { connectMs: 1_000, requestMs: 10_000, idleMs: 200 } }),
        route('whole', '/whole', ['be-slow'], { rewrite: { kind: 'prefix', from: '/whole', to: '' }, timeouts: { connectMs: 1_000, requestMs: 300, idleMs: 5_000 } }),
        route('retried', '/retried', ['be-half']),
      ],
      [
        backend('be-dead', [dead]),
        backend('be-reset', [reset.port]),
        backend('be-slow', [slow.port]),
        // Two requests reach the refused endpoint once, whichever endpoint the round robin starts at (then it is ejected).
        backend('be-half', [deadToo, echo.port]),
      ],
    ),
    { ejection: { baseMs: 60_000, maxMs: 60_000 } },
  );
  assert.equal((await send(gw.port, '/dead')).status, 502);
  assert.equal((await send(gw.port, '/reset')).status, 502);
  assert.equal((await send(gw.port, '/idle/delay/3000')).status, 504);
  assert.equal((await send(gw.port, '/whole/delay/3000')).status, 504);
  for (let i = 0; i < 2; i++) assert.equal((await send(gw.port, '/retried')).status, 200, 'the retry on the live endpoint answers');

  const text = await scrapeMetrics(gw.adminPort);
  const errors = (route: string, kind: string): number => sampleOf(text, ERRORS, { route, kind });
  assert.equal(errors('dead', 'connect_refused'), 1);
  assert.equal(errors('reset', 'reset'), 1);
  assert.equal(errors('idle', 'headers_timeout'), 1);
  assert.equal(errors('whole', 'request_timeout'), 1);
  assert.equal(errors('retried', 'connect_refused'), 1, 'a failed attempt is counted though the request succeeded');
  assert.equal(sampleOf(text, REQUESTS, { route: 'retried', method: 'GET', status_class: '2xx' }), 2);
  // Every series has one of the fixed kinds; an error code is never a label value.
  const kinds = new Set([...text.matchAll(/^gatehouse_upstream_errors_total\{[^}]*kind="([^"]+)"/gm)].map((m) => m[1]));
  assert.deepEqual([...kinds].sort(), ['connect_refused', 'headers_timeout', 'request_timeout', 'reset']);
  assert.doesNotMatch(text, /ECONNREFUSED|UND_ERR/);
});

test('table info names the version served (one series), and the last apply time moves only when a table is applied', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, undefined);
  let text = await scrapeMetrics(gw.adminPort);
  assert.doesNotMatch(text, /^gatehouse_table_info\{/m, 'no table yet: no version');
  assert.doesNotMatch(text, /^gatehouse_table_last_apply_timestamp_seconds /m, 'no table yet: no apply time (not 1970)');

  const before = Date.now() / 1000;
  assert.equal(gw.applyTable(table([route('r', '/', ['be'])], [backend('be', [a.port])], 'v-one')).ok, true);
  text = await scrapeMetrics(gw.adminPort);
  assert.equal(sampleOf(text, 'gatehouse_table_info', { version: 'v-one' }), 1);
  const firstAt = Number(/^gatehouse_table_last_apply_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
  assert.ok(firstAt >= before - 0.001 && firstAt <= Date.now() / 1000 + 0.001, `apply time ${firstAt} is now`);

  assert.equal(gw.applyTable(table([route('r2', '/', ['be'])], [backend('be', [a.port])], 'v-two')).ok, true);
  text = await scrapeMetrics(gw.adminPort);
  assert.deepEqual([...text.matchAll(/^gatehouse_table_info\{version="([^"]+)"\} (\S+)$/gm)].map((m) => [m[1], m[2]]), [['v-two', '1']], 'the old version is gone');
  const secondAt = Number(/^gatehouse_table_last_apply_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
  assert.ok(secondAt >= firstAt);

  // A refused table changes neither; it is counted as refused.
  assert.equal(gw.applyTable({ schema: 'nope' }).ok, false);
  text = await scrapeMetrics(gw.adminPort);
  assert.deepEqual([...text.matchAll(/^gatehouse_table_info\{version="([^"]+)"\}/gm)].map((m) => m[1]), ['v-two']);
  assert.equal(Number(/^gatehouse_table_last_apply_timestamp_seconds (\S+)$/m.exec(text)?.[1]), secondAt);
  assert.equal(sampleOf(text, 'gatehouse_table_applies_total', { result: 'refused' }), 1);

  // An endpoint-only update is a new version too.
  assert.equal(gw.applyEndpoints('v-two', 'v-three', [{ id: 'be', endpoints: [{ host: '127.0.0.1', port: a.port }] }]).ok, true);
  assert.equal(await metricValue(gw.adminPort, 'gatehouse_table_info', { version: 'v-three' }), 1);
});

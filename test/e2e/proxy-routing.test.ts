// The request path end to end on loopback: a real gateway in front of real echo upstreams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho, type EchoReply } from './helpers/upstreams.ts';
import { backend, route, table } from './helpers/tables.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { send } from './helpers/http-client.ts';

test('routes by host and path, rewrites the path, keeps the query, changes headers both ways', async (t) => {
  const a = await startEcho('a');
  const b = await startEcho('b');
  closeAfter(t, a, b);
  const gw = await startTestGateway(
    t,
    table(
      [
        route('api', '/api', ['be-a'], {
          hosts: ['api.example.com'],
          rewrite: { kind: 'prefix', from: '/api', to: '/v2' },
          requestHeaders: { set: [['x-stage', 'prod']], add: [['x-tag', 'gw']], remove: ['x-secret'] },
          responseHeaders: { set: [['x-served-by', 'gatehouse']], add: [], remove: ['x-upstream'] },
        }),
        route('users', '/users/{id}', ['be-b'], { path: { type: 'template', value: '/users/{id}' }, rewrite: { kind: 'path', to: '/people/{id}/profile' } }),
        route('root', '/', ['be-b']),
      ],
      [backend('be-a', [a.port], { pathPrefix: '/base', hostHeader: 'internal.a' }), backend('be-b', [b.port])],
    ),
  );

  const r1 = await send(gw.port, '/api/items?x=1&y=%20z', { headers: { host: 'API.example.com:8080', 'x-secret': 's3cret', 'x-tag': 'client' } });
  assert.equal(r1.status, 200);
  const e1 = r1.json<EchoReply>();
  assert.equal(e1.upstream, 'a');
  assert.equal(e1.path, '/base/v2/items', 'prefix rewrite, then the backend pathPrefix in front');
  assert.equal(e1.query, 'x=1&y=%20z', 'query string passed through byte for byte');
  assert.equal(e1.headers.host, 'internal.a', 'backend hostHeader replaces Host');
  assert.equal(e1.headers['x-stage'], 'prod');
  assert.equal(e1.headers['x-tag'], 'client, gw', 'add appends to what the client sent');
  assert.equal(e1.headers['x-secret'], undefined);
  assert.equal(e1.headers['x-forwarded-host'], 'API.example.com:8080');
  assert.equal(e1.headers['x-forwarded-proto'], 'http');
  assert.equal(e1.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(r1.headers['x-served-by'], 'gatehouse');
  assert.equal(r1.headers['x-upstream'], undefined, 'response header removed');
  assert.deepEqual(r1.headers['set-cookie'], ['a=1', 'b=2'], 'repeated response headers survive');

  // Host that matches no host-bound route falls to the catch-all; template params fill the rewrite (re-encoded).
  const r2 = await send(gw.port, '/users/j%C3%B6rg%2F1', { headers: { host: 'other.example.com' } });
  const e2 = r2.json<EchoReply>();
  assert.equal(e2.upstream, 'b');
  assert.equal(e2.path, '/people/j%C3%B6rg%2F1/profile');
  assert.equal(e2.headers.host, 'other.example.com', 'client Host kept when the backend sets none');

  const head = await send(gw.port, '/api/items', { method: 'HEAD', headers: { host: 'api.example.com' } });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['x-served-by'], 'gatehouse');

  const r3 = await send(gw.port, '/api/items', { headers: { host: 'other.example.com' } });
  assert.equal(r3.json<EchoReply>().upstream, 'b', 'the host-bound route does not match another host');
});

test('hop-by-hop headers are dropped both ways; X-Forwarded-For is appended to', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'])], [backend('be', [a.port])]));
  const r = await send(gw.port, '/x', {
    headers: {
      connection: 'keep-alive, x-conn-only',
      'keep-alive': 'timeout=5',
      'x-conn-only': 'drop me',
      te: 'trailers',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'proxy-connection': 'keep-alive',
      upgrade: 'websocket',
      'x-forwarded-for': '203.0.113.9',
      'x-keep': 'yes',
    },
  });
  const e = r.json<EchoReply>();
  for (const name of ['x-conn-only', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection', 'upgrade']) {
    assert.equal(e.headers[name], undefined, `${name} must not reach the upstream`);
  }
  assert.equal(e.headers['x-keep'], 'yes');
  assert.equal(e.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(r.headers['x-hop'], undefined, 'a header the upstream named in Connection is not passed back');
  assert.notEqual(r.headers['keep-alive'], 'timeout=5', "the upstream's Keep-Alive is not passed back (the gateway's own connection may send one)");
});

test('request id: a sane one is kept, a missing or odd one is generated; both go upstream and back', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'])], [backend('be', [a.port])]));
  const kept = await send(gw.port, '/', { headers: { 'x-request-id': 'trace-abc.123' } });
  assert.equal(kept.headers['x-request-id'], 'trace-abc.123');
  assert.equal(kept.json<EchoReply>().headers['x-request-id'], 'trace-abc.123');

  const generated = await send(gw.port, '/');
  const id = generated.headers['x-request-id'];
  assert.match(String(id), /^[0-9a-f-]{36}$/);
  assert.equal(generated.json<EchoReply>().headers['x-request-id'], id);

  const odd = await send(gw.port, '/', { headers: { 'x-request-id': 'a b <script>' } });
  assert.match(String(odd.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'ids with spaces or markup are replaced');
  const tooLong = await send(gw.port, '/', { headers: { 'x-request-id': 'x'.repeat(300) } });
  assert.notEqual(tooLong.headers['x-request-id'], 'x'.repeat(300));

  const line = gw.logs.lines.find((l) => l.requestId === 'trace-abc.123');
  assert.ok(line, 'the access log carries the request id');
  assert.equal(line.route, 'r');
  assert.equal(line.status, 200);
});

test('weighted split: 1000 requests at 80/20 land within tolerance', async (t) => {
  const a = await startEcho('a');
  const b = await startEcho('b');
  closeAfter(t, a, b);
  const gw = await startTestGateway(t, table([route('r', '/', [['be-a', 80], ['be-b', 20], ['be-zero', 0]])], [backend('be-a', [a.port]), backend('be-b', [b.port]), backend('be-zero', [a.port])]));
  const N = 1000;
  const counts = { a: 0, b: 0 };
  for (let i = 0; i < N; i += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, () => send(gw.port, '/w')));
    for (const r of batch) counts[r.headers['x-upstream'] as 'a' | 'b']++;
  }
  assert.equal(counts.a + counts.b, N);
  // Binomial(1000, 0.2): sd ≈ 12.6; ±60 is more than 4.5 sd, so this fails by chance well under once in 10^5 runs.
  assert.ok(Math.abs(counts.b - 200) <= 60, `expected ~200 to the 20% backend, got ${counts.b}`);
});

test('canary by header or by cookie goes to the canary backends; everything else to the primary', async (t) => {
  const stable = await startEcho('stable');
  const canary = await startEcho('canary');
  closeAfter(t, stable, canary);
  const gw = await startTestGateway(
    t,
    table(
      [
        route('r', '/', ['be-stable'], {
          canary: { header: { name: 'x-canary', value: 'always' }, cookie: { name: 'release', value: 'beta' }, backends: [{ backend: 'be-canary', weight: 1 }] },
        }),
      ],
      [backend('be-stable', [stable.port]), backend('be-canary', [canary.port])],
    ),
  );
  const up = async (headers: Record<string, string>): Promise<unknown> => (await send(gw.port, '/', { headers })).headers['x-upstream'];
  assert.equal(await up({}), 'stable');
  assert.equal(await up({ 'x-canary': 'always' }), 'canary');
  assert.equal(await up({ 'x-canary': 'never' }), 'stable');
  assert.equal(await up({ cookie: 'session=1; release=beta; theme=dark' }), 'canary');
  assert.equal(await up({ cookie: 'release=beta' }), 'canary');
  assert.equal(await up({ cookie: 'release=betamax; xrelease=beta' }), 'stable', 'cookie name and value must match exactly');
});

test('round-robin across the endpoints of one backend', async (t) => {
  const a = await startEcho('a');
  const b = await startEcho('b');
  closeAfter(t, a, b);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'])], [backend('be', [a.port, b.port])]));
  const seen: unknown[] = [];
  for (let i = 0; i < 6; i++) seen.push((await send(gw.port, '/')).headers['x-upstream']);
  assert.deepEqual(seen, ['a', 'b', 'a', 'b', 'a', 'b']);
});

test('admin: /healthz, /readyz before and after a table, /metrics with bounded labels', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, undefined);
  assert.equal((await send(gw.adminPort, '/healthz')).status, 200);
  assert.equal((await send(gw.adminPort, '/readyz')).status, 503);
  assert.equal((await send(gw.port, '/')).status, 503, 'no table yet: the traffic port answers, with 503');
  const applied = gw.applyTable(table([route('r', '/', ['be'])], [backend('be', [a.port])], 'v-admin'));
  assert.deepEqual(applied, { ok: true, version: 'v-admin' });
  const ready = await send(gw.adminPort, '/readyz');
  assert.equal(ready.status, 200);
  assert.match(ready.body, /v-admin/);
  for (let i = 0; i < 3; i++) await send(gw.port, `/path-${i}`);
  const metrics = (await send(gw.adminPort, '/metrics')).body;
  assert.match(metrics, /gatehouse_requests_total\{route="r",method="GET",status_class="2xx"\} 3/);
  assert.match(metrics, /gatehouse_upstream_response_seconds_count\{route="r"\} 3/);
  assert.match(metrics, /gatehouse_requests_total\{route="\(none\)",method="GET",status_class="5xx"\} 1/);
  assert.doesNotMatch(metrics, /path-1/, 'paths never become labels');
});

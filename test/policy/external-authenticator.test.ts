// The External authorizer against a real authorizer service on loopback: what it sends, how it reads the answers,
// the per-(route, identity) decision cache, coalescing of identical misses, and failing closed (or open) when the
// service cannot decide.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import pino from 'pino';
import { createExternalAuthenticator } from '../../proxy/policy/external/external-authenticator.ts';
import type { ExternalDeps } from '../../proxy/policy/external/external-authenticator.ts';
import type { DecisionRequest } from '../../proxy/policy/external/decision-request.ts';
import type { AuthMetrics, AuthResult, Authenticator, PolicyContext } from '../../proxy/policy/policy-types.ts';
import type { TableExternalAuthorizer } from '../../proxy/table/table-schema.ts';

interface Call {
  body: DecisionRequest;
  headers: IncomingHttpHeaders;
}

type Handler = (call: Call, res: ServerResponse) => void;

interface Service {
  url: string;
  calls: Call[];
  /** Resolves once the service has received `n` calls in all. */
  untilCalls(n: number): Promise<void>;
}

async function startService(t: TestContext, handler: Handler): Promise<Service> {
  const calls: Call[] = [];
  const arrived = new EventEmitter();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call = { body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as DecisionRequest, headers: req.headers };
      calls.push(call);
      arrived.emit('call');
      handler(call, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/decide?v=1`,
    calls,
    untilCalls: (n) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (calls.length < n) return;
          arrived.off('call', check);
          resolve();
        };
        arrived.on('call', check);
        check();
      }),
  };
}

function json(res: ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function config(url: string, over: Partial<TableExternalAuthorizer> = {}): TableExternalAuthorizer {
  return {
    id: 'shop/external',
    type: 'external',
    url,
    identitySources: [{ from: 'header', name: 'authorization', prefix: 'Bearer ' }],
    contextHeaders: ['x-tenant', 'x-scopes'],
    consumerHeader: 'x-consumer',
    resultTtlMs: 60_000,
    timeoutMs: 2_000,
    failureMode: 'deny',
    ...over,
  };
}

interface Recorded {
  decisions: string[];
  lookups: boolean[];
  logs: string[];
}

function deps(over: Partial<ExternalDeps> = {}): { deps: ExternalDeps; seen: Recorded } {
  const seen: Recorded = { decisions: [], lookups: [], logs: [] };
  const metrics: AuthMetrics = {
    decision: (authorizer, result, reason) => seen.decisions.push(`${authorizer} ${result} ${reason}`),
    jwksFetch: () => {},
    cacheLookup: (cache, hit) => {
      assert.equal(cache, 'decision');
      seen.lookups.push(hit);
    },
  };
  const logger = pino({ level: 'info' }, { write: (line: string) => seen.logs.push(line) });
  return { deps: { clock: Date.now, metrics, logger, ...over }, seen };
}

function open(t: TestContext, cfg: TableExternalAuthorizer, d: ExternalDeps): Authenticator {
  const auth = createExternalAuthenticator(cfg, d);
  t.after(() => auth.close());
  return auth;
}

function ctx(routeId: string, headers: Record<string, string>, query = ''): PolicyContext {
  return {
    req: { headers } as unknown as IncomingMessage,
    routeId,
    requestId: 'req-7',
    method: 'GET',
    path: '/orders/42',
    query,
    host: 'api.example.com',
    clientIp: '203.0.113.9',
    consumer: null,
    upstreamHeaders: null,
    responseHeaders: null,
  };
}

const TOKEN = 'secret-token-abc';
const BEARER = { authorization: `Bearer ${TOKEN}` };

function denied(result: AuthResult): { status: number; error: string; reason: string; headers?: Record<string, string> } {
  assert.equal(result.ok, false, 'expected a denial');
  return (result as Extract<AuthResult, { ok: false }>).denial;
}

function allowed(result: AuthResult): Extract<AuthResult, { ok: true }> {
  assert.equal(result.ok, true, 'expected an allow');
  return result as Extract<AuthResult, { ok: true }>;
}

test('an allow copies the listed context headers and names the consumer; other answer headers are ignored', async (t) => {
  const svc = await startService(t, (_call, res) =>
    json(res, 200, { allow: true, consumer: 'acme', headers: { 'X-Tenant': 't-1', 'x-admin': 'yes', 'x-consumer': 'mallory' } }),
  );
  const { deps: d, seen } = deps();
  const auth = open(t, config(svc.url), d);
  assert.deepEqual([...auth.ownedHeaders].sort(), ['x-consumer', 'x-scopes', 'x-tenant']);

  const result = allowed(await auth.authenticate(ctx('shop/orders/r0/m0', BEARER, 'page=2')));
  assert.deepEqual(result.consumer, { name: 'acme', authorizer: 'shop/external', plan: undefined, claims: {} });
  assert.deepEqual(result.headers, [
    ['x-consumer', 'acme'],
    ['x-tenant', 't-1'],
  ]);

  assert.equal(svc.calls.length, 1);
  const call = svc.calls[0] as Call;
  assert.equal(call.headers['content-type'], 'application/json');
  assert.equal(call.headers['x-request-id'], 'req-7');
  assert.deepEqual(call.body, {
    identity: { 'header:authorization': TOKEN },
    request: { method: 'GET', path: '/orders/42', host: 'api.example.com', routeId: 'shop/orders/r0/m0', clientIp: '203.0.113.9', requestId: 'req-7', query: 'page=2' },
  });
  assert.deepEqual(seen.decisions, ['shop/external allow ok']);
  assert.deepEqual(seen.lookups, [false]);
});

test('an empty 2xx allows as "anonymous"; "allow": false denies with 403', async (t) => {
  const svc = await startService(t, (call, res) => (call.body.identity['header:authorization'] === 'nobody' ? json(res, 200, { allow: false }) : json(res, 204)));
  const auth = open(t, config(svc.url), deps().deps);
  const ok = allowed(await auth.authenticate(ctx('r', BEARER)));
  assert.equal(ok.consumer.name, 'anonymous');
  assert.deepEqual(ok.headers, [['x-consumer', 'anonymous']]);
  assert.deepEqual(denied(await auth.authenticate(ctx('r', { authorization: 'Bearer nobody' }))), { status: 403, error: 'forbidden', reason: 'forbidden' });
});

test('a 401 answer denies with 401 and a Bearer challenge; a 403 answer denies with 403', async (t) => {
  const svc = await startService(t, (call, res) => json(res, call.body.identity['header:authorization'] === 'expired' ? 401 : 403, { message: 'no' }));
  const { deps: d, seen } = deps();
  const auth = open(t, config(svc.url), d);
  assert.deepEqual(denied(await auth.authenticate(ctx('r', { authorization: 'Bearer expired' }))), {
    status: 401,
    error: 'unauthorized',
    reason: 'denied',
    headers: { 'www-authenticate': 'Bearer realm="gatehouse"' },
  });
  assert.deepEqual(denied(await auth.authenticate(ctx('r', BEARER))), { status: 403, error: 'forbidden', reason: 'forbidden' });
  assert.deepEqual(seen.decisions, ['shop/external deny denied', 'shop/external deny forbidden']);
});

test('a missing identity source is refused with 401 without calling the service', async (t) => {
  const svc = await startService(t, (_call, res) => json(res, 200));
  const { deps: d, seen } = deps();
  const sources: TableExternalAuthorizer['identitySources'] = [
    { from: 'header', name: 'x-api-key', prefix: '' },
    { from: 'query', name: 'tenant' },
  ];
  const auth = open(t, config(svc.url, { identitySources: sources }), d);
  // One of the two present is not enough; with no Bearer header source there is no challenge to offer.
  const result = auth.authenticate(ctx('r', { 'x-api-key': 'k1' }, 'other=1'));
  assert.ok(!(result instanceof Promise), 'a missing source answers synchronously');
  assert.deepEqual(denied(result), { status: 401, error: 'missing credentials', reason: 'missing' });
  assert.equal(svc.calls.length, 0);
  assert.deepEqual(seen.decisions, ['shop/external deny missing']);

  allowed(await auth.authenticate(ctx('r', { 'x-api-key': 'k1' }, 'tenant=t1')));
  assert.deepEqual(svc.calls[0]?.body.identity, { 'header:x-api-key': 'k1', 'query:tenant': 't1' });
});

test('a cache hit answers synchronously without calling the service', async (t) => {
  const svc = await startService(t, (_call, res) => json(res, 200, { consumer: 'acme', headers: { 'x-tenant': 't-1' } }));
  const { deps: d, seen } = deps();
  const auth = open(t, config(svc.url), d);
  const first = allowed(await auth.authenticate(ctx('r', BEARER)));
  const hit = auth.authenticate(ctx('r', BEARER));
  assert.ok(!(hit instanceof Promise), 'a hit is not a promise');
  assert.deepEqual(allowed(hit), first);
  // Each result owns its header array: a step adding to one request's headers cannot reach the cached decision.
  allowed(hit).headers?.push(['x-extra', '1']);
  assert.deepEqual(allowed(auth.authenticate(ctx('r', BEARER)) as AuthResult).headers, first.headers);
  assert.equal(svc.calls.length, 1);
  assert.deepEqual(seen.lookups, [false, true, true]);
  assert.deepEqual(seen.decisions, ['shop/external allow ok', 'shop/external allow ok', 'shop/external allow ok']);
});

test('a decision for one route is never used for another route with the same identity', async (t) => {
  // The service allows this token on route A only.
  const svc = await startService(t, (call, res) => (call.body.request.routeId === 'route-a' ? json(res, 200, { consumer: 'acme' }) : json(res, 403)));
  const auth = open(t, config(svc.url), deps().deps);
  allowed(await auth.authenticate(ctx('route-a', BEARER)));
  const onB = auth.authenticate(ctx('route-b', BEARER));
  assert.ok(onB instanceof Promise, 'route B is a miss');
  assert.equal(denied(await onB).status, 403);
  assert.equal(svc.calls.length, 2);
  // Both decisions are cached, each under its own route.
  allowed(auth.authenticate(ctx('route-a', BEARER)) as AuthResult);
  assert.equal(denied(auth.authenticate(ctx('route-b', BEARER)) as AuthResult).status, 403);
  assert.equal(svc.calls.length, 2);
});

test("the answer's ttl overrides resultTtlMs, and an expired decision is asked again", async (t) => {
  let now = 1_000_000;
  const svc = await startService(t, (call, res) => json(res, 200, { ttl: call.body.identity['header:authorization'] === 'short' ? 5 : 0 }));
  const auth = open(t, config(svc.url, { resultTtlMs: 60_000 }), deps({ clock: () => now }).deps);
  const short = { authorization: 'Bearer short' };
  allowed(await auth.authenticate(ctx('r', short)));
  now += 4_999;
  assert.ok(!(auth.authenticate(ctx('r', short)) instanceof Promise), 'still cached before the ttl');
  now += 1;
  allowed(await auth.authenticate(ctx('r', short)));
  assert.equal(svc.calls.length, 2);

  // ttl 0: not cached at all, although resultTtlMs is a minute.
  const none = { authorization: 'Bearer none' };
  allowed(await auth.authenticate(ctx('r', none)));
  allowed(await auth.authenticate(ctx('r', none)));
  assert.equal(svc.calls.length, 4);
});

test('denials are cached for resultTtlMs too', async (t) => {
  let now = 1_000_000;
  const svc = await startService(t, (_call, res) => json(res, 401));
  const { deps: d, seen } = deps({ clock: () => now });
  const auth = open(t, config(svc.url, { resultTtlMs: 30_000 }), d);
  assert.equal(denied(await auth.authenticate(ctx('r', BEARER))).status, 401);
  const again = auth.authenticate(ctx('r', BEARER));
  assert.ok(!(again instanceof Promise));
  assert.equal(denied(again).reason, 'denied');
  assert.equal(svc.calls.length, 1);
  now += 30_000;
  assert.equal(denied(await auth.authenticate(ctx('r', BEARER))).status, 401);
  assert.equal(svc.calls.length, 2);
  assert.deepEqual(seen.lookups, [false, true, false]);
});

test('20 concurrent identical misses make one call', async (t) => {
  const held: ServerResponse[] = [];
  let release = false;
  const svc = await startService(t, (_call, res) => (release ? json(res, 200, { consumer: 'acme' }) : held.push(res)));
  const { deps: d, seen } = deps();
  const auth = open(t, config(svc.url), d);
  const pending = Array.from({ length: 20 }, () => auth.authenticate(ctx('r', BEARER)));
  assert.ok(pending.every((p) => p instanceof Promise));
  // All 20 are waiting; the service holds its answer until it has the first call.
  await svc.untilCalls(1);
  release = true;
  for (const res of held) json(res, 200, { consumer: 'acme' });
  const results = await Promise.all(pending);
  // A second call, had one been made, would have had to be answered before all 20 could settle.
  assert.equal(svc.calls.length, 1);
  for (const r of results) assert.equal(allowed(r).consumer.name, 'acme');
  assert.equal(seen.lookups.filter((hit) => !hit).length, 20);
  assert.equal(seen.decisions.length, 20);
  // A different identity is not coalesced with it.
  allowed(await auth.authenticate(ctx('r', { authorization: 'Bearer other' })));
  assert.equal(svc.calls.length, 2);
});

test('a service that does not answer in time fails closed with 503 (failureMode deny)', async (t) => {
  const svc = await startService(t, () => {}); // never answers
  const { deps: d, seen } = deps();
  const auth = open(t, config(svc.url, { timeoutMs: 150 }), d);
  const started = Date.now();
  assert.deepEqual(denied(await auth.authenticate(ctx('r', BEARER))), { status: 503, error: 'authorizer unavailable', reason: 'unavailable' });
  assert.ok(Date.now() - started < 1_500, 'bounded by timeoutMs');
  assert.deepEqual(seen.decisions, ['shop/external error unavailable']);
  assert.equal(seen.logs.length, 1);
  assert.match(seen.logs[0] as string, /external authorizer unavailable/);
  assert.match(seen.logs[0] as string, /"cause":"timeout"/);
  assert.ok(!seen.logs.join('').includes(TOKEN), 'logs never hold the identity');
});

test('with failureMode allow, an unavailable service lets the caller through unverified; one warning per transition', async (t) => {
  let up = false;
  const svc = await startService(t, (_call, res) => {
    if (up) json(res, 200, { consumer: 'acme', headers: { 'x-tenant': 't-1' } });
  });
  const { deps: d, seen } = deps();
  const auth = open(t, config(svc.url, { timeoutMs: 150, failureMode: 'allow' }), d);
  for (let i = 0; i < 2; i++) {
    const result = allowed(await auth.authenticate(ctx('r', BEARER)));
    assert.equal(result.consumer.name, 'anonymous');
    assert.equal(result.headers, null, 'no consumer or context header for an unverified caller');
  }
  // Not cached: each request asked the service.
  assert.equal(svc.calls.length, 2);
  assert.deepEqual(seen.decisions, ['shop/external error unavailable', 'shop/external error unavailable']);
  assert.equal(seen.logs.filter((l) => l.includes('external authorizer unavailable')).length, 1);

  up = true;
  assert.equal(allowed(await auth.authenticate(ctx('r', BEARER))).consumer.name, 'acme');
  assert.equal(seen.logs.length, 2);
  assert.match(seen.logs[1] as string, /answering again/);
  assert.ok(!seen.logs.join('').includes(TOKEN));
});

test('a service refusing connections fails closed with 503', async (t) => {
  const probe = createNetServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const { deps: d, seen } = deps();
  const auth = open(t, config(`http://127.0.0.1:${port}/decide`), d);
  assert.equal(denied(await auth.authenticate(ctx('r', BEARER))).status, 503);
  assert.match(seen.logs[0] as string, /"cause":"ECONNREFUSED"/);
});

test('a malformed answer and a 500 fail closed with 503 and are not cached', async (t) => {
  const answers: Array<(res: ServerResponse) => void> = [
    (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"allow": tru'),
    (res) => json(res, 200, { allow: 'false' }),
    (res) => json(res, 200, { headers: { 'x-tenant': 'a\r\nx-admin: 1' } }),
    (res) => json(res, 200, [true]),
    (res) => json(res, 500, { allow: true }),
    (res) => json(res, 302),
    (res) => res.writeHead(200).end('x'.repeat(70 * 1024)),
  ];
  const svc = await startService(t, (_call, res) => (answers.shift() ?? ((r: ServerResponse) => json(r, 200)))(res));
  const { deps: d, seen } = deps();
  const auth = open(t, config(svc.url), d);
  for (let i = 0; i < 7; i++) {
    const result = auth.authenticate(ctx('r', BEARER));
    assert.ok(result instanceof Promise, `answer ${i} was not cached`);
    assert.deepEqual(denied(await result), { status: 503, error: 'authorizer unavailable', reason: 'unavailable' }, `answer ${i}`);
  }
  assert.equal(svc.calls.length, 7);
  // Logged once for the transition, with a fixed cause: never the answer (which may echo the credential).
  assert.equal(seen.logs.length, 1);
  assert.match(seen.logs[0] as string, /"cause":"malformed answer"/);
  allowed(await auth.authenticate(ctx('r', BEARER)));
});

test('the decision cache is bounded: the least recently used decision is evicted', async (t) => {
  const svc = await startService(t, (call, res) => json(res, 200, { consumer: call.body.identity['header:authorization'] }));
  const auth = open(t, config(svc.url), deps({ maxCacheEntries: 2 }).deps);
  const as = (name: string): PolicyContext => ctx('r', { authorization: `Bearer ${name}` });
  allowed(await auth.authenticate(as('a')));
  allowed(await auth.authenticate(as('b')));
  allowed(await auth.authenticate(as('c'))); // evicts a
  assert.equal(svc.calls.length, 3);
  assert.ok(!(auth.authenticate(as('c')) instanceof Promise), 'c is cached');
  const a = auth.authenticate(as('a'));
  assert.ok(a instanceof Promise, 'a was evicted');
  assert.equal(allowed(await a).consumer.name, 'a');
  assert.equal(svc.calls.length, 4);
});

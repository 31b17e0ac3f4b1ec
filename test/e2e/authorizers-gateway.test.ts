// Authorizers end to end: a real client → the gateway → a real echo upstream (which shows the headers it got), with
// real JWKS and decision services on loopback. Each test builds its own gateway and table by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mint, startJwksServer, testKey } from '../policy/jwt-fixtures.ts';
import type { DeltaMessage } from '../../proxy/table/stream-protocol.ts';
import { TABLE_SCHEMA_VERSION, type TableAuthorizer, type TableRoute } from '../../proxy/table/table-schema.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { errorBody, send, type Reply } from './helpers/http-client.ts';
import { backend, route, table } from './helpers/tables.ts';
import { refusedPort, startEcho, type EchoReply } from './helpers/upstreams.ts';
import { apiKeyAuthorizer, auth, externalAuthorizer, jwtAuthorizer, metricValue, newSalt, sampleOf, scrapeMetrics, startDecisionService } from './helpers/authorizers.ts';

const DECISIONS = 'gatehouse_authorizer_decisions_total';
const LOOKUPS = 'gatehouse_authorizer_cache_lookups_total';

/** The headers the echo upstream received (the reply must be the upstream's 200). */
function upstreamHeaders(reply: Reply): EchoReply['headers'] {
  assert.equal(reply.status, 200, `expected the upstream's 200, got ${reply.status}: ${reply.body}`);
  return reply.json<EchoReply>().headers;
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** An empty delta from the version served: fill in the parts that change. */
function delta(baseVersion: string, version: string, parts: Partial<Pick<DeltaMessage, 'routes' | 'backends' | 'authorizers'>>): DeltaMessage {
  const none = { removed: [], changed: [], added: [] };
  return { type: 'delta', baseVersion, version, schema: TABLE_SCHEMA_VERSION, routes: none, backends: none, authorizers: none, ratePolicies: none, certificates: none, tlsHosts: none, ...parts };
}

test('JWT: valid, missing, invalid and expired tokens, scope and claim requirements, owned headers never forged; an open route unchanged', async (t) => {
  const up = await startEcho('up');
  const key = await testKey('RS256', 'k1');
  const impostor = await testKey('RS256', 'k1'); // same kid, another key: the signature cannot verify
  const jwks = await startJwksServer([key.jwk]);
  closeAfter(t, up, jwks);
  const jwt = jwtAuthorizer('test/jwt', jwks.uri, { claimsToHeaders: [['tenant', 'x-tenant'], ['role', 'x-role']] });
  const gw = await startTestGateway(
    t,
    table(
      [
        route('open', '/open', ['be']),
        // The route's own header change of an owned header never beats the authenticated value.
        route('jwt', '/jwt', ['be'], { auth: auth('test/jwt'), requestHeaders: { set: [['x-consumer', 'from-route']], add: [], remove: [] } }),
        route('scoped', '/scoped', ['be'], { auth: auth('test/jwt', ['orders:write']) }),
        route('claim', '/claim', ['be'], { auth: auth('test/jwt', [], [['tenant', 'acme']]) }),
      ],
      [backend('be', [up.port])],
      undefined,
      [jwt],
    ),
  );

  // No policy: the request goes through as it came, client headers included.
  const open = upstreamHeaders(await send(gw.port, '/open', { headers: { 'x-consumer': 'admin', 'x-tenant': 'evil' } }));
  assert.equal(open['x-consumer'], 'admin');
  assert.equal(open['x-tenant'], 'evil');

  const good = await mint(key, { sub: 'alice', tenant: 'acme', scope: 'orders:read' });
  const seen = upstreamHeaders(await send(gw.port, '/jwt', { headers: { ...bearer(good), 'x-consumer': 'admin', 'x-tenant': 'evil', 'x-role': 'root' } }));
  assert.equal(seen['x-consumer'], 'alice', 'the verified sub, not the client copy nor the route header');
  assert.equal(seen['x-tenant'], 'acme', 'the verified claim, not the client copy');
  // The token has no `role`: nothing sets x-role, and the forged one is still removed.
  assert.equal(seen['x-role'], undefined);
  // The auth scheme is matched case-insensitively.
  assert.equal(upstreamHeaders(await send(gw.port, '/jwt', { headers: { authorization: `bearer ${good}` } }))['x-consumer'], 'alice');

  const hitsBefore = up.hits();
  const missing = await send(gw.port, '/jwt', { headers: { 'x-consumer': 'admin', 'x-request-id': 'req-missing' } });
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['www-authenticate'], 'Bearer realm="gatehouse"');
  assert.deepEqual(errorBody(missing), { error: 'missing credentials', requestId: 'req-missing' });

  const invalidTokens = [
    await mint(impostor, { sub: 'mallory' }),
    'not.a.jwt',
    await mint(key, { sub: 'alice' }, { expiresIn: -60 }),
    await mint(key, { sub: 'alice', aud: 'someone-else' }),
  ];
  for (const token of invalidTokens) {
    const bad = await send(gw.port, '/jwt', { headers: bearer(token) });
    assert.equal(bad.status, 401, token);
    assert.equal(bad.headers['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token"');
    assert.equal(errorBody(bad).error, 'invalid token');
  }

  const noScope = await send(gw.port, '/scoped', { headers: bearer(good) });
  assert.equal(noScope.status, 403);
  assert.equal(noScope.headers['www-authenticate'], 'Bearer realm="gatehouse", error="insufficient_scope"');
  assert.equal(errorBody(noScope).error, 'insufficient scope');

  const otherTenant = await send(gw.port, '/claim', { headers: bearer(await mint(key, { sub: 'bob', tenant: 'globex' })) });
  assert.equal(otherTenant.status, 403);
  assert.equal(errorBody(otherTenant).error, 'forbidden');
  assert.equal(up.hits(), hitsBefore, 'no refused request reached the upstream');

  const scoped = upstreamHeaders(await send(gw.port, '/scoped', { headers: bearer(await mint(key, { sub: 'carol', scope: 'orders:read orders:write' })) }));
  assert.equal(scoped['x-consumer'], 'carol');
  assert.equal(upstreamHeaders(await send(gw.port, '/claim', { headers: bearer(good) }))['x-tenant'], 'acme');

  // Every outcome is counted under the authorizer, result and reason.
  const metrics = await scrapeMetrics(gw.adminPort);
  const count = (result: string, reason: string): number => sampleOf(metrics, DECISIONS, { authorizer: 'test/jwt', result, reason });
  assert.equal(count('deny', 'missing'), 1);
  assert.equal(count('deny', 'invalid'), 3);
  assert.equal(count('deny', 'expired'), 1);
  assert.equal(count('deny', 'scope'), 1);
  assert.equal(count('deny', 'claim'), 1);
  assert.ok(count('allow', 'ok') >= 3);
  assert.equal(jwks.fetches, 1, 'one JWKS fetch for all of it');
});

test('JWT: JWKS down before any fetch answers 503; keys once fetched keep serving with the JWKS server gone', async (t) => {
  const up = await startEcho('up');
  const key = await testKey('RS256', 'k1');
  const jwks = await startJwksServer([key.jwk]);
  closeAfter(t, up, jwks);
  const deadUri = `http://127.0.0.1:${await refusedPort()}/.well-known/jwks.json`;
  const gw = await startTestGateway(
    t,
    table(
      [route('dead', '/dead', ['be'], { auth: auth('test/dead') }), route('live', '/live', ['be'], { auth: auth('test/live') })],
      [backend('be', [up.port])],
      undefined,
      [jwtAuthorizer('test/dead', deadUri), jwtAuthorizer('test/live', jwks.uri)],
    ),
  );

  const down = await send(gw.port, '/dead', { headers: bearer(await mint(key)) });
  assert.equal(down.status, 503);
  assert.equal(errorBody(down).error, 'authorizer unavailable');
  assert.equal(down.headers['www-authenticate'], undefined);
  assert.equal(up.hits(), 0);
  assert.equal(await metricValue(gw.adminPort, DECISIONS, { authorizer: 'test/dead', result: 'error', reason: 'jwks-unavailable' }), 1);

  assert.equal(upstreamHeaders(await send(gw.port, '/live', { headers: bearer(await mint(key, { sub: 'alice' })) }))['x-consumer'], 'alice');
  await jwks.close();
  // A token never seen before (not in the verified-token cache) is checked with the cached keys.
  assert.equal(upstreamHeaders(await send(gw.port, '/live', { headers: bearer(await mint(key, { sub: 'bob' })) }))['x-consumer'], 'bob');
  assert.equal(jwks.fetches, 1);
});

test('API keys: header and query locations, wrong and missing keys, revocation by a new table and by a delta', async (t) => {
  const up = await startEcho('up');
  closeAfter(t, up);
  const salt = newSalt();
  const alice = { key: 'alice-0f5e3c9a7b1d2e4f', consumer: 'alice' };
  const bob = { key: 'bob-8a6c4e2f0b1d3a5c', consumer: 'bob', plan: 'gold' };
  const headerKeys = (keys: Array<typeof alice>): TableAuthorizer => apiKeyAuthorizer('test/keys', salt, keys);
  const queryKeys = apiKeyAuthorizer('test/query-keys', salt, [alice], { from: 'query', name: 'api_key' });
  const routes = [route('keys', '/keys', ['be'], { auth: auth('test/keys') }), route('qkeys', '/qkeys', ['be'], { auth: auth('test/query-keys') })];
  const backends = [backend('be', [up.port])];
  const gw = await startTestGateway(t, table(routes, backends, 'v1', [headerKeys([alice, bob]), queryKeys]));

  const seen = upstreamHeaders(await send(gw.port, '/keys', { headers: { 'x-api-key': alice.key, 'x-consumer': 'admin' } }));
  assert.equal(seen['x-consumer'], 'alice');
  assert.equal(upstreamHeaders(await send(gw.port, '/keys', { headers: { 'x-api-key': bob.key } }))['x-consumer'], 'bob');

  const hitsBefore = up.hits();
  const wrong = await send(gw.port, '/keys', { headers: { 'x-api-key': `${alice.key}x` } });
  assert.equal(wrong.status, 401);
  assert.equal(errorBody(wrong).error, 'invalid credentials');
  const missing = await send(gw.port, '/keys');
  assert.equal(missing.status, 401);
  assert.equal(errorBody(missing).error, 'missing credentials');
  // A key of another authorizer's location (the query) is not read by a header authorizer.
  assert.equal((await send(gw.port, `/keys?api_key=${alice.key}`)).status, 401);
  assert.equal(up.hits(), hitsBefore);

  assert.equal(upstreamHeaders(await send(gw.port, `/qkeys/x?api_key=${alice.key}`))['x-consumer'], 'alice');
  assert.equal((await send(gw.port, '/qkeys/x', { headers: { 'x-api-key': alice.key } })).status, 401);

  // The access log names the consumer and never holds a key.
  const line = gw.logs.lines.find((l) => l.msg === 'request' && l.route === 'keys' && l.status === 200);
  assert.equal(line?.consumer, 'alice');
  const logged = JSON.stringify(gw.logs.lines);
  for (const k of [alice.key, bob.key]) assert.ok(!logged.includes(k), 'no key in the logs');

  // Revoked by a whole new table: alice's key is gone from it.
  const applied = gw.applyTable(table(routes, backends, 'v2', [headerKeys([bob]), queryKeys]));
  assert.ok(applied.ok);
  const revoked = await send(gw.port, '/keys', { headers: { 'x-api-key': alice.key } });
  assert.equal(revoked.status, 401);
  assert.equal(errorBody(revoked).error, 'invalid credentials');
  assert.equal(upstreamHeaders(await send(gw.port, '/keys', { headers: { 'x-api-key': bob.key } }))['x-consumer'], 'bob');

  // Revoked by a delta that changes the authorizer only.
  const result = await gw.applyDelta(delta('v2', 'v3', { authorizers: { removed: [], changed: [headerKeys([alice])], added: [] } }));
  assert.deepEqual(result, { ok: true, version: 'v3' });
  assert.equal((await send(gw.port, '/keys', { headers: { 'x-api-key': bob.key } })).status, 401);
  assert.equal(upstreamHeaders(await send(gw.port, '/keys', { headers: { 'x-api-key': alice.key } }))['x-consumer'], 'alice');
});

test('external authorizer: allow with context headers, deny, service down fails closed, decisions cached per route', async (t) => {
  const up = await startEcho('up');
  const service = await startDecisionService((call) => {
    if (call.identity['header:x-token'] !== 'good' || call.request.routeId !== 'ext-a') return { status: 403 };
    return { status: 200, body: { allow: true, consumer: 'carol', headers: { 'x-user-role': 'admin', 'x-not-listed': 'zzz' } } };
  });
  closeAfter(t, up, service);
  const downUrl = `http://127.0.0.1:${await refusedPort()}/check`;
  const gw = await startTestGateway(
    t,
    table(
      [
        route('ext-a', '/a', ['be'], { auth: auth('test/ext') }),
        route('ext-b', '/b', ['be'], { auth: auth('test/ext') }),
        route('ext-down', '/down', ['be'], { auth: auth('test/ext-down') }),
        route('fail-open', '/fail-open', ['be'], { auth: auth('test/ext-open') }),
        route('ext-ip', '/ip', ['be'], { auth: auth('test/ext'), clientIp: { allow: [], deny: ['127.0.0.0/8'] } }),
      ],
      [backend('be', [up.port])],
      undefined,
      [
        externalAuthorizer('test/ext', service.url, { contextHeaders: ['x-user-role'] }),
        externalAuthorizer('test/ext-down', downUrl),
        externalAuthorizer('test/ext-open', downUrl, { contextHeaders: ['x-user-role'], failureMode: 'allow' }),
      ],
    ),
  );

  const seen = upstreamHeaders(await send(gw.port, '/a?q=1', { headers: { 'x-token': 'good', 'x-user-role': 'root', 'x-consumer': 'admin' } }));
  assert.equal(seen['x-consumer'], 'carol');
  assert.equal(seen['x-user-role'], 'admin', 'the context header from the decision, not the client copy');
  assert.equal(seen['x-not-listed'], undefined, 'only listed context headers are copied');
  assert.equal(service.calls.length, 1);
  assert.deepEqual(service.calls[0]?.identity, { 'header:x-token': 'good' });
  assert.equal(service.calls[0]?.request.path, '/a');
  assert.equal(service.calls[0]?.request.query, 'q=1');

  const hitsBefore = up.hits();
  // The same identity on route B: the allow for route A is not reused.
  const otherRoute = await send(gw.port, '/b', { headers: { 'x-token': 'good' } });
  assert.equal(otherRoute.status, 403);
  assert.equal(errorBody(otherRoute).error, 'forbidden');
  assert.equal(service.calls.length, 2);
  assert.deepEqual(
    service.calls.map((c) => c.request.routeId),
    ['ext-a', 'ext-b'],
  );

  const denied = await send(gw.port, '/a', { headers: { 'x-token': 'bad' } });
  assert.equal(denied.status, 403);
  const missing = await send(gw.port, '/a');
  assert.equal(missing.status, 401);
  assert.equal(errorBody(missing).error, 'missing credentials');

  // Failing open lets the request through with no identity: the client's consumer and context headers still removed.
  const open = upstreamHeaders(await send(gw.port, '/fail-open', { headers: { 'x-token': 'good', 'x-consumer': 'admin', 'x-user-role': 'root' } }));
  assert.equal(open['x-consumer'], undefined);
  assert.equal(open['x-user-role'], undefined);

  const down = await send(gw.port, '/down', { headers: { 'x-token': 'good' } });
  assert.equal(down.status, 503);
  assert.equal(errorBody(down).error, 'authorizer unavailable');
  assert.equal(up.hits(), hitsBefore + 1, 'no refused request reached the upstream (only the fail-open one)');

  // Client IP rules run first: a refused address costs no decision call.
  const callsBeforeIp = service.calls.length;
  assert.equal((await send(gw.port, '/ip', { headers: { 'x-token': 'fresh' } })).status, 403);
  assert.equal(service.calls.length, callsBeforeIp);

  // Cached decisions: neither the allow on A nor the deny on B asks the service again.
  const callsBefore = service.calls.length;
  assert.equal(upstreamHeaders(await send(gw.port, '/a', { headers: { 'x-token': 'good' } }))['x-consumer'], 'carol');
  assert.equal((await send(gw.port, '/b', { headers: { 'x-token': 'good' } })).status, 403);
  assert.equal(service.calls.length, callsBefore);
  assert.ok((await metricValue(gw.adminPort, LOOKUPS, { cache: 'decision', result: 'hit' })) >= 2);
});

test('a route naming an authorizer the table lacks answers 500 and is never forwarded', async (t) => {
  const up = await startEcho('up');
  closeAfter(t, up);
  const gw = await startTestGateway(t, table([route('ghost', '/ghost', ['be'], { auth: auth('test/ghost') }), route('open', '/open', ['be'])], [backend('be', [up.port])]));

  for (const headers of [{}, { authorization: 'Bearer whatever', 'x-api-key': 'k' }]) {
    const reply = await send(gw.port, '/ghost', { headers });
    assert.equal(reply.status, 500);
    assert.equal(errorBody(reply).error, 'authorizer unavailable');
  }
  const post = await send(gw.port, '/ghost', { method: 'POST', body: 'payload' });
  assert.equal(post.status, 500);
  assert.equal(up.hits(), 0, 'the upstream received nothing');
  upstreamHeaders(await send(gw.port, '/open'));
  assert.equal(up.hits(), 1);
  assert.equal(await metricValue(gw.adminPort, DECISIONS, { authorizer: 'test/ghost', result: 'error', reason: 'unavailable' }), 3);

  // The authorizer arriving in a delta enforces the route; leaving in another, the route fails closed again.
  const salt = newSalt();
  const ghost = apiKeyAuthorizer('test/ghost', salt, [{ key: 'ghost-key-3c1d9e7f', consumer: 'casper' }]);
  const base = gw.version() as string;
  assert.ok((await gw.applyDelta(delta(base, 'with-ghost', { authorizers: { removed: [], changed: [], added: [{ after: null, item: ghost }] } }))).ok);
  assert.equal(upstreamHeaders(await send(gw.port, '/ghost', { headers: { 'x-api-key': 'ghost-key-3c1d9e7f' } }))['x-consumer'], 'casper');
  assert.equal((await send(gw.port, '/ghost')).status, 401);
  assert.ok((await gw.applyDelta(delta('with-ghost', 'without-ghost', { authorizers: { removed: ['test/ghost'], changed: [], added: [] } }))).ok);
  const gone = await send(gw.port, '/ghost', { headers: { 'x-api-key': 'ghost-key-3c1d9e7f' } });
  assert.equal(gone.status, 500);
  assert.equal(errorBody(gone).error, 'authorizer unavailable');
  assert.equal(up.hits(), 2);
});

test('client IP rules, and X-Forwarded-For believed only from trusted proxies', async (t) => {
  const up = await startEcho('up');
  closeAfter(t, up);
  const routes: TableRoute[] = [
    route('deny-loopback', '/deny-loopback', ['be'], { clientIp: { allow: [], deny: ['127.0.0.0/8'] } }),
    route('allow-ten', '/allow-ten', ['be'], { clientIp: { allow: ['10.0.0.0/8'], deny: [] } }),
    route('allow-me', '/allow-me', ['be'], { clientIp: { allow: ['127.0.0.1/32'], deny: [] } }),
    route('deny-doc', '/deny-doc', ['be'], { clientIp: { allow: [], deny: ['203.0.113.0/24'] } }),
  ];
  const tbl = table(routes, [backend('be', [up.port])]);
  const direct = await startTestGateway(t, tbl);
  const behindProxy = await startTestGateway(t, tbl, { trustedProxies: ['127.0.0.1/32'] });
  const xff = { 'x-forwarded-for': '203.0.113.7' };

  for (const path of ['/deny-loopback', '/allow-ten']) {
    const refused = await send(direct.port, path);
    assert.equal(refused.status, 403, path);
    assert.equal(errorBody(refused).error, 'forbidden');
  }
  assert.equal(up.hits(), 0);
  upstreamHeaders(await send(direct.port, '/allow-me'));
  // From an untrusted peer the header is the client's say-so: ignored.
  upstreamHeaders(await send(direct.port, '/deny-doc', { headers: xff }));
  upstreamHeaders(await send(direct.port, '/allow-me', { headers: { 'x-forwarded-for': '10.1.2.3' } }));

  // Through a trusted proxy, the forwarded address is the client.
  assert.equal((await send(behindProxy.port, '/deny-doc', { headers: xff })).status, 403);
  assert.equal((await send(behindProxy.port, '/allow-me', { headers: xff })).status, 403);
  upstreamHeaders(await send(behindProxy.port, '/allow-ten', { headers: { 'x-forwarded-for': '10.1.2.3' } }));
  upstreamHeaders(await send(behindProxy.port, '/deny-doc'));
  // Trusted hops are skipped from the right; the first address no trusted proxy added is the client.
  assert.equal((await send(behindProxy.port, '/deny-doc', { headers: { 'x-forwarded-for': '203.0.113.7, 127.0.0.1' } })).status, 403);
  // What the client itself put left of that is not believed.
  upstreamHeaders(await send(behindProxy.port, '/deny-doc', { headers: { 'x-forwarded-for': '203.0.113.7, 10.9.8.7' } }));
});

test('the access log names the consumer, never the token', async (t) => {
  const up = await startEcho('up');
  const key = await testKey('RS256', 'k1');
  const jwks = await startJwksServer([key.jwk]);
  closeAfter(t, up, jwks);
  const gw = await startTestGateway(t, table([route('jwt', '/jwt', ['be'], { auth: auth('test/jwt') })], [backend('be', [up.port])], undefined, [jwtAuthorizer('test/jwt', jwks.uri)]));
  const token = await mint(key, { sub: 'dora' });
  upstreamHeaders(await send(gw.port, '/jwt/x', { headers: bearer(token) }));
  assert.equal((await send(gw.port, '/jwt/y', { headers: bearer(`${token}x`) })).status, 401);

  const allowed = gw.logs.lines.find((l) => l.msg === 'request' && l.path === '/jwt/x');
  assert.equal(allowed?.consumer, 'dora');
  assert.equal(allowed?.status, 200);
  const refused = gw.logs.lines.find((l) => l.msg === 'request' && l.path === '/jwt/y');
  assert.equal(refused?.status, 401);
  assert.equal(refused?.consumer, undefined);
  const logged = JSON.stringify(gw.logs.lines);
  assert.ok(!logged.includes(token.split('.')[2] as string), 'no token signature in the logs');
  assert.ok(!logged.includes(token.split('.')[1] as string), 'no token payload in the logs');
});

test('authenticators survive unrelated table changes: no JWKS refetch, the verified-token cache still hits', async (t) => {
  const up = await startEcho('up');
  const other = await startEcho('other');
  const key = await testKey('RS256', 'k1');
  const jwks = await startJwksServer([key.jwk]);
  closeAfter(t, up, other, jwks);
  const jwt = jwtAuthorizer('test/jwt', jwks.uri);
  const jwtRoute = route('jwt', '/jwt', ['be'], { auth: auth('test/jwt') });
  const backends = [backend('be', [up.port]), backend('other', [other.port])];
  const gw = await startTestGateway(t, table([jwtRoute, route('open', '/open', ['be'])], backends, 'v1', [jwt]));
  const token = await mint(key, { sub: 'erin' });
  const hits = (): Promise<number> => metricValue(gw.adminPort, LOOKUPS, { cache: 'token', result: 'hit' });

  upstreamHeaders(await send(gw.port, '/jwt', { headers: bearer(token) })); // verified: a miss
  assert.equal(await hits(), 0);

  // A whole new table that changes another route.
  assert.ok(gw.applyTable(table([jwtRoute, route('open', '/open', ['other'])], backends, 'v2', [jwt])).ok);
  assert.equal(upstreamHeaders(await send(gw.port, '/jwt', { headers: bearer(token) }))['x-consumer'], 'erin');
  assert.equal(await hits(), 1, 'the token verified before the swap is still cached');

  // A delta that changes the protected route itself (not its authorizer), and one that adds a route.
  const slower = { ...jwtRoute, timeouts: { ...jwtRoute.timeouts, requestMs: 20_000 } };
  assert.ok((await gw.applyDelta(delta('v2', 'v3', { routes: { removed: [], changed: [slower], added: [] } }))).ok);
  assert.equal(upstreamHeaders(await send(gw.port, '/jwt', { headers: bearer(token) }))['x-consumer'], 'erin');
  const added = route('more', '/more', ['other']);
  assert.ok((await gw.applyDelta(delta('v3', 'v4', { routes: { removed: [], changed: [], added: [{ after: 'open', item: added }] } }))).ok);
  assert.equal(upstreamHeaders(await send(gw.port, '/jwt', { headers: bearer(token) }))['x-consumer'], 'erin');
  assert.equal(await hits(), 3);
  assert.equal(jwks.fetches, 1, 'no JWKS fetch after the first');

  // The JWT Authorizer itself changed: a new authenticator (its token cache starts empty) but the same JWKS keys.
  const changed = jwtAuthorizer('test/jwt', jwks.uri, { claimsToHeaders: [['sub', 'x-subject']] });
  assert.ok((await gw.applyDelta(delta('v4', 'v5', { authorizers: { removed: [], changed: [changed], added: [] } }))).ok);
  assert.equal(upstreamHeaders(await send(gw.port, '/jwt', { headers: bearer(token) }))['x-subject'], 'erin');
  assert.equal(await hits(), 3, 'verified again by the new authenticator');
  assert.equal(jwks.fetches, 1, 'the keys are shared across authenticators of the same JWKS URI');
  assert.equal(await metricValue(gw.adminPort, 'gatehouse_jwks_fetches_total', { result: 'ok' }), 1);
});

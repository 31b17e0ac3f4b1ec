// JWT authorizers whose keys come from a JWKS URI, against a real JWKS server on loopback: sharing, rotation,
// the unknown-kid cooldown, failures that keep the last good keys, 503 when no key was ever had, and freshness
// from Cache-Control. Time is node:test's mocked Date; the server's fetch count is the ground truth.
import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';
import { createJwtAuthenticator } from '../../proxy/policy/jwt/jwt-authenticator.ts';
import { JwksCaches, type JwksCache } from '../../proxy/policy/jwt/jwks-cache.ts';
import type { AuthResult, Authenticator } from '../../proxy/policy/policy-types.ts';
import type { TableJwtAuthorizer } from '../../proxy/table/table-schema.ts';
import { bearer, jwtConfig, mint, recordingLogger, recordingMetrics, settle, startJwksServer, testKey, waitFor, type JwksServer, type RecordedMetrics } from './jwt-fixtures.ts';

const keyA = await testKey('RS256', 'key-a');
const keyB = await testKey('RS256', 'key-b');
const forger = await testKey('RS256', 'forged');

interface Rig {
  server: JwksServer;
  caches: JwksCaches;
  metrics: RecordedMetrics;
  log: ReturnType<typeof recordingLogger>;
  auth: Authenticator;
  cache: JwksCache;
  config: TableJwtAuthorizer;
}

/** A server publishing `keys`, a registry and one authorizer on it; everything is closed after the test. */
async function rig(t: TestContext, keys = [keyA.jwk], cacheMs = 600_000): Promise<Rig> {
  const server = await startJwksServer(keys);
  t.after(() => server.close());
  const metrics = recordingMetrics();
  const log = recordingLogger();
  const clock = () => Date.now();
  const caches = new JwksCaches({ clock, metrics, logger: log.logger });
  t.after(() => caches.close());
  const config = jwtConfig({ jwks: { source: 'uri', uri: server.uri, cacheMs } });
  const auth = createJwtAuthenticator(config, { clock, metrics, logger: log.logger, jwks: caches });
  t.after(() => auth.close());
  return { server, caches, metrics, log, auth, config, cache: caches.forUri({ uri: server.uri, cacheMs }) };
}

function mockTime(t: TestContext): void {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout', 'setInterval'], now: Date.now() });
}

function assertAllowed(result: AuthResult): void {
  assert.ok(result.ok, `expected allow, got ${JSON.stringify(!result.ok && result.denial)}`);
}

function assertInvalid(result: AuthResult): void {
  assert.ok(!result.ok);
  assert.equal(result.denial.status, 401);
  assert.equal(result.denial.error, 'invalid token');
}

test('authorizers naming the same uri and CA share one cache and one fetch; retainOnly closes the others', async (t) => {
  const { server, caches, auth, metrics, log } = await rig(t);
  const twin = createJwtAuthenticator(jwtConfig({ id: 'shop/twin', jwks: { source: 'uri', uri: server.uri, cacheMs: 60_000 } }), { clock: Date.now, metrics, logger: log.logger, jwks: caches });
  t.after(() => twin.close());
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA)))));
  assertAllowed(await settle(twin.authenticate(bearer(await mint(keyA, { sub: 'bob' })))));
  assert.equal(server.fetches, 1);
  assert.deepEqual(metrics.fetches, ['ok']);
  const other = caches.forUri({ uri: server.uri, caPem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n', cacheMs: 1 });
  assert.notEqual(other, caches.forUri({ uri: server.uri, cacheMs: 1 }));
  assert.equal(caches.keys().length, 2);
  caches.retainOnly([JwksCaches.keyOf({ uri: server.uri })]);
  assert.deepEqual(caches.keys(), [server.uri]);
  const [state] = caches.states();
  assert.equal(state?.uri, server.uri);
  assert.equal(state?.keys, 1);
  assert.equal(typeof state?.lastSuccessAt, 'number');
  assert.equal(state?.lastError, undefined);
});

test('an unknown kid refetches once: the rotated key is accepted, and tokens of the removed key leave the token cache', async (t) => {
  const { server, auth, cache } = await rig(t);
  const oldToken = await mint(keyA);
  assertAllowed(await settle(auth.authenticate(bearer(oldToken))));
  assert.ok(!(auth.authenticate(bearer(oldToken)) instanceof Promise), 'cached');
  assert.equal(server.fetches, 1);

  server.serve({ keys: [keyB.jwk] });
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyB)))));
  assert.equal(server.fetches, 2);
  assert.equal(cache.state().keys, 1);
  // key-a was removed: its token is verified again (not a cache hit), and fails.
  const again = auth.authenticate(bearer(oldToken));
  assert.ok(again instanceof Promise, 'the token cache was cleared when key-a went away');
  assertInvalid(await again);
  assert.equal(server.fetches, 2, 'key-a again within the cooldown: no refetch');
});

test('a burst of 50 forged kids causes one refetch per cooldown, however concurrent', async (t) => {
  mockTime(t);
  const { server, auth } = await rig(t);
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA)))));
  assert.equal(server.fetches, 1);
  const forged = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => mint(forger, { sub: `m${i}` }, { kid: `forged-${i}-${Math.random()}` })));

  const burst = await Promise.all((await forged(50)).map((token) => settle(auth.authenticate(bearer(token)))));
  burst.forEach(assertInvalid);
  assert.equal(server.fetches, 2, 'one refetch for the whole burst');

  t.mock.timers.tick(29_000);
  (await Promise.all((await forged(50)).map((token) => settle(auth.authenticate(bearer(token)))))).forEach(assertInvalid);
  assert.equal(server.fetches, 2, 'none within the 30 s cooldown');

  t.mock.timers.tick(1_000);
  (await Promise.all((await forged(50)).map((token) => settle(auth.authenticate(bearer(token)))))).forEach(assertInvalid);
  assert.equal(server.fetches, 3, 'one more once the cooldown is over');
  // Real tokens were never disturbed.
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA, { sub: 'carol' })))));
});

test('JWKS server down with keys cached: tokens still verify, and the failure is logged once', async (t) => {
  mockTime(t);
  const { server, auth, cache, metrics, log } = await rig(t, [keyA.jwk], 60_000);
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA)))));
  await server.close();

  for (let round = 1; round <= 3; round++) {
    t.mock.timers.tick(61_000); // stale, and past the retry delay after a failure
    const result = auth.authenticate(bearer(await mint(keyA, { sub: `user-${round}` })));
    assert.ok(cache.refreshing, 'a background refresh started');
    assertAllowed(await result); // answered from the stale keys, not after the refresh
    await waitFor(() => !cache.refreshing, 'the refresh to fail');
  }
  assert.deepEqual(metrics.fetches, ['ok', 'error', 'error', 'error']);
  const state = cache.state();
  assert.equal(state.keys, 1);
  assert.match(state.lastError?.message ?? '', /ECONNREFUSED/);
  assert.ok((state.lastError?.since ?? 0) < Date.now() - 100_000, 'since = the first failure of the run');
  const warnings = log.lines.filter((l) => l.level === 40);
  assert.equal(warnings.length, 1, 'logged on the transition, not per fetch or request');
  assert.equal(warnings[0]?.uri, server.uri);
});

test('JWKS server down with no key ever fetched: 503 "authorizer unavailable", not 401', async (t) => {
  const server = await startJwksServer([keyA.jwk]);
  await server.close();
  const metrics = recordingMetrics();
  const log = recordingLogger();
  const caches = new JwksCaches({ clock: Date.now, metrics, logger: log.logger });
  t.after(() => caches.close());
  const auth = createJwtAuthenticator(jwtConfig({ jwks: { source: 'uri', uri: server.uri, cacheMs: 60_000 } }), { clock: Date.now, metrics, logger: log.logger, jwks: caches });
  t.after(() => auth.close());
  for (let i = 0; i < 2; i++) {
    const result = await settle(auth.authenticate(bearer(await mint(keyA))));
    assert.deepEqual(result, { ok: false, denial: { status: 503, error: 'authorizer unavailable', reason: 'jwks-unavailable' } });
  }
  assert.deepEqual(metrics.decisions, [
    ['shop/jwt', 'error', 'jwks-unavailable'],
    ['shop/jwt', 'error', 'jwks-unavailable'],
  ]);
  assert.deepEqual(metrics.fetches, ['error'], 'the second request did not fetch again within the retry delay');
  assert.equal(caches.forUri({ uri: server.uri, cacheMs: 60_000 }).state().keys, 0);
});

test('failing responses (500, not JSON, over 1 MiB, not a JWK Set) keep the previous keys', async (t) => {
  mockTime(t);
  const { server, auth, cache, metrics } = await rig(t, [keyA.jwk], 60_000);
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA)))));
  const bad: Array<[unknown, number]> = [
    [{ keys: [keyB.jwk] }, 500],
    ['{"keys": [', 200],
    [JSON.stringify({ keys: [keyB.jwk], pad: 'x'.repeat(1024 * 1024) }), 200],
    [{ jwks: [keyB.jwk] }, 200],
  ];
  for (const [body, status] of bad) {
    server.serve(body, {}, status);
    t.mock.timers.tick(61_000);
    assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA, { sub: `s${metrics.fetches.length}` })))));
    await waitFor(() => !cache.refreshing, 'the refresh');
  }
  assert.deepEqual(metrics.fetches, ['ok', 'error', 'error', 'error', 'error']);
  assert.equal(cache.state().keys, 1);
  assert.equal(server.fetches, 5);
});

test('a JWKS of only oct / unusable keys is refused: the previous keys stay, and with none a 503', async (t) => {
  mockTime(t);
  const unusable = {
    keys: [
      { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256' },
      { ...keyB.jwk, use: 'enc' },
      { ...keyB.jwk, kid: 'ops', use: undefined, key_ops: ['encrypt'] },
      { kty: 'RSA', kid: 'short', n: 'AQAB', e: 'AQAB' },
      { kty: 'EC', kid: 'k1', crv: 'secp256k1', x: 'AAAA', y: 'AAAA' },
      { kty: 'RSA', kid: 'broken', n: '!!', e: 'AQAB' },
    ],
  };
  const { server, auth, cache, metrics } = await rig(t, [keyA.jwk], 60_000);
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA)))));
  server.serve(unusable);
  t.mock.timers.tick(61_000);
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA, { sub: 'bob' })))));
  await waitFor(() => !cache.refreshing, 'the refresh');
  assert.deepEqual(metrics.fetches, ['ok', 'refused']);
  assert.equal(cache.state().keys, 1);
  assert.equal(cache.state().lastError?.message, 'JWK Set has no usable signature key');
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA, { sub: 'carol' })))));

  // A source that never served a usable key answers 503.
  const fresh = await rig(t, unusable.keys as never, 60_000);
  const result = await settle(fresh.auth.authenticate(bearer(await mint(keyA))));
  assert.equal(!result.ok && result.denial.status, 503);
  assert.deepEqual(fresh.metrics.fetches, ['refused']);
});

test('Cache-Control max-age decides freshness: no refetch before it, a background one after', async (t) => {
  mockTime(t);
  const server = await startJwksServer([keyA.jwk]);
  t.after(() => server.close());
  server.serve({ keys: [keyA.jwk] }, { 'cache-control': 'public, max-age=120' });
  const metrics = recordingMetrics();
  const caches = new JwksCaches({ clock: Date.now, metrics, logger: recordingLogger().logger });
  t.after(() => caches.close());
  const auth = createJwtAuthenticator(jwtConfig({ jwks: { source: 'uri', uri: server.uri, cacheMs: 3_600_000 } }), { clock: Date.now, metrics, logger: recordingLogger().logger, jwks: caches });
  t.after(() => auth.close());
  const cache = caches.forUri({ uri: server.uri, cacheMs: 3_600_000 });
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA)))));

  t.mock.timers.tick(119_000);
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA, { sub: 'b' })))));
  assert.equal(cache.refreshing, false, 'fresh for 120 s');
  assert.equal(server.fetches, 1);

  server.serve({ keys: [keyA.jwk] }, { 'cache-control': 'max-age=5' }); // below the 30 s floor
  t.mock.timers.tick(1_000);
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA, { sub: 'c' })))));
  await waitFor(() => server.fetches === 2 && !cache.refreshing, 'the refetch at 120 s');

  t.mock.timers.tick(29_000);
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA, { sub: 'd' })))));
  assert.equal(cache.refreshing, false, 'max-age=5 is clamped up to 30 s');
  t.mock.timers.tick(1_000);
  assertAllowed(await settle(auth.authenticate(bearer(await mint(keyA, { sub: 'e' })))));
  await waitFor(() => server.fetches === 3 && !cache.refreshing, 'the refetch at 30 s');
  assert.deepEqual(metrics.fetches, ['ok', 'ok', 'ok']);
});

test('status and logs never carry a token', async (t) => {
  mockTime(t);
  const { server, auth, cache, log } = await rig(t, [keyA.jwk], 60_000);
  const token = await mint(keyA);
  assertAllowed(await settle(auth.authenticate(bearer(token))));
  await server.close();
  t.mock.timers.tick(61_000);
  const forgedToken = await mint(forger, {}, { kid: 'forged' });
  assertInvalid(await settle(auth.authenticate(bearer(forgedToken))));
  await waitFor(() => !cache.refreshing, 'the refresh');
  const everything = log.text() + JSON.stringify(cache.state());
  for (const t of [token, forgedToken]) for (const part of t.split('.')) assert.ok(!everything.includes(part));
});

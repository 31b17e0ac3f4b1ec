// The JWT authorizer's verification and answers, with inline keys: what is accepted, what is refused (and that a
// refusal says nothing useful to an attacker), where the token is read from, what goes upstream, and the
// verified-token cache's synchronous hits that never outlive the token's exp.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { exportSPKI, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { pino } from 'pino';
import { createJwtAuthenticator, type JwtDeps } from '../../proxy/policy/jwt/jwt-authenticator.ts';
import { JwksCaches } from '../../proxy/policy/jwt/jwks-cache.ts';
import type { AuthResult } from '../../proxy/policy/policy-types.ts';
import type { TableJwtAuthorizer, TablePublicJwk } from '../../proxy/table/table-schema.ts';
import { AUDIENCE, bearer, context, ISSUER, jwtConfig, mint, recordingMetrics, settle, testKey, type RecordedMetrics } from './jwt-fixtures.ts';

const rsa = await testKey('RS256', 'rsa-1');
const ec = await testKey('ES256', 'ec-1');
const ed = await testKey('EdDSA', 'ed-1');
const ps = await testKey('PS256', 'ps-1');
const publicKeys: JWK[] = [rsa.jwk, ec.jwk, ed.jwk, ps.jwk];

function authorizer(overrides: Partial<TableJwtAuthorizer> = {}, metrics: RecordedMetrics = recordingMetrics()) {
  const deps: JwtDeps = { clock: () => Date.now(), metrics, logger: pino({ level: 'silent' }), jwks: new JwksCaches({ clock: () => Date.now(), metrics, logger: pino({ level: 'silent' }) }) };
  return createJwtAuthenticator(jwtConfig({ jwks: { source: 'inline', keys: publicKeys as TablePublicJwk[] }, ...overrides }), deps);
}

function assertAllowed(result: AuthResult, sub = 'alice'): asserts result is Extract<AuthResult, { ok: true }> {
  assert.ok(result.ok, `expected allow, got ${JSON.stringify(!result.ok && result.denial)}`);
  assert.equal(result.consumer.name, sub);
}

/** Every invalid token gets exactly this: no kid, no check name, no detail. */
function assertInvalid(result: AuthResult, reason: 'invalid' | 'expired' = 'invalid'): void {
  assert.deepEqual(result, {
    ok: false,
    denial: { status: 401, error: 'invalid token', reason, headers: { 'www-authenticate': 'Bearer realm="gatehouse", error="invalid_token"' } },
  });
}

test('RS256, PS256, ES256 and EdDSA tokens are accepted with the matching key', async () => {
  const metrics = recordingMetrics();
  const auth = authorizer({}, metrics);
  for (const key of [rsa, ps, ec, ed]) {
    const result = await settle(auth.authenticate(bearer(await mint(key, { sub: `user-${key.alg}` }))));
    assertAllowed(result, `user-${key.alg}`);
    assert.equal(result.consumer.authorizer, 'shop/jwt');
    assert.equal(result.consumer.plan, undefined);
    assert.equal(result.consumer.claims.iss, ISSUER);
  }
  assert.deepEqual(metrics.decisions, [0, 1, 2, 3].map(() => ['shop/jwt', 'allow', 'ok']));
});

test('alg "none" is refused', async () => {
  const token = new UnsecuredJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice' }).setExpirationTime('5m').encode();
  assertInvalid(await settle(authorizer().authenticate(bearer(token))));
  // Even with a signature part that looks like one.
  assertInvalid(await settle(authorizer().authenticate(bearer(`${token}c2ln`))));
});

test('HS256 signed with the RSA public key as the HMAC secret is refused, even if the table allowed HS256', async () => {
  const pem = await exportSPKI(rsa.publicKey);
  const secrets = [new TextEncoder().encode(pem), new TextEncoder().encode(JSON.stringify(rsa.jwk)), new TextEncoder().encode(rsa.jwk.n)];
  const loose = authorizer({ algorithms: ['RS256', 'HS256' as 'RS256'] });
  for (const secret of secrets) {
    for (const kid of [rsa.kid, undefined]) {
      const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory' })
        .setProtectedHeader(kid === undefined ? { alg: 'HS256' } : { alg: 'HS256', kid })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(secret);
      assertInvalid(await settle(authorizer().authenticate(bearer(token))));
      assertInvalid(await settle(loose.authenticate(bearer(token))));
    }
  }
});

test('a key of another type than the alg never verifies it (an ES256 header naming the RSA kid)', async () => {
  const token = await mint(ec, {}, { kid: rsa.kid });
  assertInvalid(await settle(authorizer().authenticate(bearer(token))));
});

test('an algorithm outside the authorizer\'s list is refused though the key exists', async () => {
  const token = await mint(ec);
  assertInvalid(await settle(authorizer({ algorithms: ['RS256'] }).authenticate(bearer(token))));
});

test('an expired token is refused with reason "expired", and the same body as any invalid token', async () => {
  const metrics = recordingMetrics();
  const token = await mint(rsa, {}, { expiresIn: -10 });
  assertInvalid(await settle(authorizer({}, metrics).authenticate(bearer(token))), 'expired');
  assert.deepEqual(metrics.decisions, [['shop/jwt', 'deny', 'expired']]);
  // Within the clock skew it is still accepted.
  assertAllowed(await settle(authorizer({ clockSkewMs: 30_000 }).authenticate(bearer(token))));
});

test('a token without exp is refused', async () => {
  assertInvalid(await settle(authorizer().authenticate(bearer(await mint(rsa, {}, { expiresIn: null })))));
});

test('a token not yet valid (nbf) is refused, and accepted within the clock skew', async () => {
  const token = await mint(rsa, {}, { notBefore: Math.floor(Date.now() / 1000) + 60 });
  assertInvalid(await settle(authorizer().authenticate(bearer(token))));
  assertAllowed(await settle(authorizer({ clockSkewMs: 120_000 }).authenticate(bearer(token))));
});

test('a token issued in the future beyond the skew is refused', async () => {
  const token = await mint(rsa, {}, { issuedAt: Math.floor(Date.now() / 1000) + 600 });
  assertInvalid(await settle(authorizer({ clockSkewMs: 60_000 }).authenticate(bearer(token))));
});

test('a wrong issuer is refused', async () => {
  assertInvalid(await settle(authorizer().authenticate(bearer(await mint(rsa, { iss: 'https://evil.test' })))));
});

test('a wrong audience is refused; any one of the audiences is enough', async () => {
  assertInvalid(await settle(authorizer().authenticate(bearer(await mint(rsa, { aud: 'someone-else' })))));
  assertInvalid(await settle(authorizer().authenticate(bearer(await mint(rsa, { aud: undefined })))));
  assertAllowed(await settle(authorizer().authenticate(bearer(await mint(rsa, { aud: ['x', AUDIENCE] })))));
});

test('a tampered payload is refused', async () => {
  const [header, payload, signature] = (await mint(rsa)).split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
  assertInvalid(await settle(authorizer().authenticate(bearer(`${header}.${forged}.${signature}`))));
  // A signature from another key of the same type does not pass either.
  const other = await testKey('ES256', ec.kid);
  assertInvalid(await settle(authorizer().authenticate(bearer(await mint(other)))));
});

test('garbage, an unknown kid, a token without sub and an oversized token are refused', async () => {
  const auth = authorizer();
  for (const token of ['not-a-jwt', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.e30.', await mint(rsa, {}, { kid: 'nope' }), await mint(rsa, { sub: undefined }), await mint(rsa, { sub: 'a\r\nx-admin: 1' }), 'x'.repeat(20_000)]) {
    assertInvalid(await settle(auth.authenticate(bearer(token))));
  }
  // No kid: every key of the alg's family is tried.
  assertAllowed(await settle(auth.authenticate(bearer(await mint(ec, {}, { kid: null })))));
});

test('no token: 401 with a bare Bearer challenge (no error code) and reason "missing"', async () => {
  const metrics = recordingMetrics();
  const auth = authorizer({}, metrics);
  for (const ctx of [context({}), context({ authorization: 'Basic YWxpY2U6cHc=' }), context({ authorization: 'Bearer ' })]) {
    const result = auth.authenticate(ctx);
    assert.ok(!(result instanceof Promise));
    assert.deepEqual(result, { ok: false, denial: { status: 401, error: 'missing credentials', reason: 'missing', headers: { 'www-authenticate': 'Bearer realm="gatehouse"' } } });
  }
  assert.deepEqual(metrics.decisions[0], ['shop/jwt', 'deny', 'missing']);
  assert.equal(metrics.lookups.length, 0);
});

test('the token is read from a cookie or a query parameter when the authorizer says so', async () => {
  const token = await mint(rsa);
  const fromCookie = authorizer({ token: { from: 'cookie', name: 'session' } });
  assertAllowed(await settle(fromCookie.authenticate(context({ cookie: `theme=dark; session=${token}` }))));
  assert.equal((await settle(fromCookie.authenticate(bearer(token)))).ok, false);
  const fromQuery = authorizer({ token: { from: 'query', name: 'access_token' } });
  assertAllowed(await settle(fromQuery.authenticate(context({}, `page=2&access_token=${token}`))));
  assert.equal((await settle(fromQuery.authenticate(context({}, 'page=2')))).ok, false);
});

test('the consumer header carries sub and claimsToHeaders copies claims; every such header is owned', async () => {
  const auth = authorizer({
    consumerHeader: 'x-consumer',
    claimsToHeaders: [
      ['email', 'x-email'],
      ['roles', 'x-roles'],
      ['admin', 'x-admin'],
      ['level', 'x-level'],
      ['org', 'x-org'],
      ['evil', 'x-evil'],
      ['absent', 'x-absent'],
      ['sub', 'x-consumer'], // never overrides the consumer header
      ['tenant', 'x-tenant'],
    ],
  });
  assert.deepEqual(auth.ownedHeaders, ['x-consumer', 'x-email', 'x-roles', 'x-admin', 'x-level', 'x-org', 'x-evil', 'x-absent', 'x-tenant']);
  const token = await mint(rsa, { sub: 'alice', email: 'alice@shop.test', roles: ['reader', 'writer'], admin: false, level: 3, org: { id: 7 }, evil: 'a\r\nx-admin: true', tenant: 'Zoë' });
  const result = await settle(auth.authenticate(bearer(token)));
  assertAllowed(result);
  assert.deepEqual(result.headers, [
    ['x-consumer', 'alice'],
    ['x-email', 'alice@shop.test'],
    ['x-roles', 'reader,writer'],
    ['x-admin', 'false'],
    ['x-level', '3'],
    ['x-org', '{"id":7}'],
  ]);
  assert.equal(result.consumer.claims.email, 'alice@shop.test');
});

test('a cached token is answered synchronously, and stops being accepted once its exp passes', async (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout', 'setInterval'], now: Date.now() });
  const metrics = recordingMetrics();
  const auth = authorizer({ clockSkewMs: 0 }, metrics);
  const token = await mint(rsa, {}, { expiresIn: 60 });
  const first = auth.authenticate(bearer(token));
  assert.ok(first instanceof Promise, 'a miss verifies asynchronously');
  assertAllowed(await first);
  const second = auth.authenticate(bearer(token));
  assert.ok(!(second instanceof Promise), 'a hit is answered synchronously');
  assertAllowed(second);
  // The cached answer cannot be changed by whoever got it.
  second.headers?.push(['x-injected', '1']);
  assert.throws(() => ((second.consumer.claims as Record<string, unknown>).sub = 'mallory'));
  const third = auth.authenticate(bearer(token));
  assert.ok(!(third instanceof Promise));
  assertAllowed(third);
  assert.deepEqual(third.headers, [['x-consumer', 'alice']]);
  assert.deepEqual(metrics.lookups, [['token', false], ['token', true], ['token', true]]);

  t.mock.timers.tick(59_000);
  assert.ok(!(auth.authenticate(bearer(token)) instanceof Promise), 'still cached before exp');
  t.mock.timers.tick(1_000); // now = exp
  const expired = auth.authenticate(bearer(token));
  assert.ok(expired instanceof Promise, 'no cache hit at or past exp');
  assertInvalid(await expired, 'expired');
});

test('with a clock skew, a token just past exp still verifies but is never cached past exp', async (t) => {
  t.mock.timers.enable({ apis: ['Date', 'setTimeout', 'setInterval'], now: Date.now() });
  const auth = authorizer({ clockSkewMs: 30_000 });
  const token = await mint(rsa, {}, { expiresIn: 10 });
  assertAllowed(await settle(auth.authenticate(bearer(token))));
  t.mock.timers.tick(11_000);
  for (let i = 0; i < 2; i++) {
    const result = auth.authenticate(bearer(token));
    assert.ok(result instanceof Promise, 'past exp: verified again, not answered from the cache');
    assertAllowed(await result);
  }
});

test('an inline set with no usable key answers 503 "authorizer unavailable"', async () => {
  const metrics = recordingMetrics();
  const auth = authorizer({ jwks: { source: 'inline', keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] } }, metrics);
  const result = await settle(auth.authenticate(bearer(await mint(rsa))));
  assert.deepEqual(result, { ok: false, denial: { status: 503, error: 'authorizer unavailable', reason: 'jwks-unavailable' } });
  assert.deepEqual(metrics.decisions, [['shop/jwt', 'error', 'jwks-unavailable']]);
});

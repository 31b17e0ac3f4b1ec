// The JWS signature check and claim rules the JWT authorizer uses instead of jose's jwtVerify, held against tokens
// jose signs: every allowed algorithm verifies, and what jose refuses is refused here too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parseCompactJws, signatureValid } from '../../proxy/policy/jwt/compact-jws.ts';
import { checkClaims } from '../../proxy/policy/jwt/jwt-claims.ts';
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../../proxy/table/table-schema.ts';

async function signed(alg: JwtAlgorithm, header: Record<string, unknown> = {}): Promise<{ token: string; key: ReturnType<typeof createPublicKey> }> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const key = createPublicKey({ key: (await exportJWK(pair.publicKey)) as never, format: 'jwk' });
  const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg, ...header }).setIssuer('https://i').setAudience('api').setExpirationTime('5m').sign(pair.privateKey);
  return { token, key };
}

for (const alg of JWT_ALGORITHMS) {
  test(`${alg}: a token jose signs verifies, and with one payload byte changed it does not`, async () => {
    const { token, key } = await signed(alg);
    const jws = parseCompactJws(token);
    assert.ok(jws);
    assert.equal(signatureValid(jws, alg, key), true);
    const [h, p, s] = token.split('.') as [string, string, string];
    const tampered = parseCompactJws(`${h}.${Buffer.from(JSON.stringify({ ...jws.payload, sub: 'admin' })).toString('base64url')}.${s}`);
    assert.ok(tampered);
    assert.equal(signatureValid(tampered, alg, key), false);
    assert.ok(p.length > 0);
  });
}

test('a signature checked under another algorithm of the same key type fails (RS256 token as PS256, ES256 as ES384)', async () => {
  const rs = await signed('RS256');
  assert.equal(signatureValid(parseCompactJws(rs.token)!, 'PS256', rs.key), false);
  assert.equal(signatureValid(parseCompactJws(rs.token)!, 'RS512', rs.key), false);
  const es = await signed('ES256');
  assert.equal(signatureValid(parseCompactJws(es.token)!, 'ES384', es.key), false);
});

test('malformed tokens, unsecured tokens, crit and b64 headers, and loose base64url are refused before any key is used', async () => {
  const { token } = await signed('ES256');
  const [h, p, s] = token.split('.') as [string, string, string];
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  for (const bad of [
    '',
    'a.b',
    `${h}.${p}`,
    `${h}.${p}.${s}.x`,
    `${enc({ alg: 'none' })}.${p}.`,
    `${h}.${p}.${s}!`,
    `${h}.${p}=.${s}`,
    `${enc({ alg: 'ES256', crit: ['exp'], exp: 1 })}.${p}.${s}`,
    `${enc({ alg: 'ES256', b64: false, crit: ['b64'] })}.${p}.${s}`,
    `${enc({ alg: 'ES256', b64: true })}.${p}.${s}`,
    `${enc(['ES256'])}.${p}.${s}`,
    `${h}.${enc('just a string')}.${s}`,
    `${h}.${Buffer.from('{not json').toString('base64url')}.${s}`,
  ]) {
    assert.equal(parseCompactJws(bad), null, bad);
  }
});

test('claims: iss, aud (string or list), exp required, nbf and iat not in the future, all with the skew as leeway', () => {
  const now = 1_800_000_000_000;
  const s = now / 1000;
  const rules = { issuer: 'https://i', audiences: ['api', 'admin'], skewMs: 30_000 };
  const ok = { iss: 'https://i', aud: 'api', exp: s + 60 };
  assert.equal(checkClaims(ok, rules, now), 'ok');
  assert.equal(checkClaims({ ...ok, aud: ['other', 'admin'] }, rules, now), 'ok');
  assert.equal(checkClaims({ ...ok, aud: ['other'] }, rules, now), 'invalid');
  assert.equal(checkClaims({ ...ok, aud: undefined }, rules, now), 'invalid');
  assert.equal(checkClaims({ ...ok, iss: 'https://i/' }, rules, now), 'invalid');
  assert.equal(checkClaims({ ...ok, exp: undefined }, rules, now), 'invalid');
  assert.equal(checkClaims({ ...ok, exp: String(s + 60) }, rules, now), 'invalid');
  assert.equal(checkClaims({ ...ok, exp: s - 10 }, rules, now), 'ok', 'expired within the skew');
  assert.equal(checkClaims({ ...ok, exp: s - 30 }, rules, now), 'expired');
  assert.equal(checkClaims({ ...ok, nbf: s + 20 }, rules, now), 'ok', 'not yet valid within the skew');
  assert.equal(checkClaims({ ...ok, nbf: s + 31 }, rules, now), 'invalid');
  assert.equal(checkClaims({ ...ok, iat: s + 31 }, rules, now), 'invalid');
  assert.equal(checkClaims({ ...ok, iat: 'yesterday' }, rules, now), 'invalid');
});

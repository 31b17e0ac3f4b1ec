// The JWT authorizer's small pure parts: granted scopes, claim header values, Cache-Control max-age, which JWKs
// are usable signature keys, and the verified-token cache's window and bound.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { claimHeaderValue } from '../../proxy/policy/jwt/claim-headers.ts';
import { grantedScopes } from '../../proxy/policy/jwt/granted-scopes.ts';
import { maxAgeSeconds } from '../../proxy/policy/jwt/jwks-fetch.ts';
import { candidateKeys, signingKeysOf } from '../../proxy/policy/jwt/signing-keys.ts';
import { VerifiedTokenCache } from '../../proxy/policy/jwt/verified-token-cache.ts';
import { testKey } from './jwt-fixtures.ts';

test('grantedScopes reads a space-delimited scope and scp as an array or a string', () => {
  assert.deepEqual([...grantedScopes({ scope: 'orders:read  orders:write\tadmin' })], ['orders:read', 'orders:write', 'admin']);
  assert.deepEqual([...grantedScopes({ scp: ['a', 'b', 3, null] })], ['a', 'b']);
  assert.deepEqual([...grantedScopes({ scp: 'a b' })], ['a', 'b']);
  assert.deepEqual([...grantedScopes({ scope: 'a', scp: ['a', 'c'] })], ['a', 'c']);
  assert.equal(grantedScopes({ scope: 42, scp: { a: 1 } }).size, 0);
  assert.equal(grantedScopes({}).size, 0);
});

test('claim header values: scalars as text, lists joined with ",", objects as JSON, unsafe values dropped', () => {
  assert.equal(claimHeaderValue('alice'), 'alice');
  assert.equal(claimHeaderValue(7), '7');
  assert.equal(claimHeaderValue(true), 'true');
  assert.equal(claimHeaderValue(['a', 'b', 1]), 'a,b,1');
  assert.equal(claimHeaderValue([{ a: 1 }]), '[{"a":1}]');
  assert.equal(claimHeaderValue({ a: 'b' }), '{"a":"b"}');
  for (const dropped of [null, undefined, [], Number.NaN, 'a\r\nb', 'a\nb', 'a\0b', 'Zoë', '日本', 'x'.repeat(8 * 1024 + 1), ['ok', 'b\r\n']]) {
    assert.equal(claimHeaderValue(dropped), undefined, JSON.stringify(dropped));
  }
});

test('maxAgeSeconds reads max-age, treats no-store/no-cache as 0, and ignores the rest', () => {
  assert.equal(maxAgeSeconds(undefined), undefined);
  assert.equal(maxAgeSeconds('public'), undefined);
  assert.equal(maxAgeSeconds('public, max-age=3600, must-revalidate'), 3600);
  assert.equal(maxAgeSeconds('Max-Age="60"'), 60);
  assert.equal(maxAgeSeconds('max-age=-5'), undefined);
  assert.equal(maxAgeSeconds('max-age=abc'), undefined);
  assert.equal(maxAgeSeconds('max-age=60, no-store'), 0);
  assert.equal(maxAgeSeconds('no-cache'), 0);
});

test('only public signature keys of the supported families are usable; candidates match family, alg and kid', async () => {
  const rsa = await testKey('RS256', 'r');
  const ec = await testKey('ES384', 'e');
  const ed = await testKey('EdDSA', 'd');
  const { keys, skipped } = signingKeysOf([
    rsa.jwk,
    { ...rsa.jwk, alg: undefined, kid: 'r-any' },
    ec.jwk,
    ed.jwk,
    rsa.jwk, // duplicate
    { kty: 'oct', k: 'c2VjcmV0' },
    { ...rsa.jwk, kid: 'enc', use: 'enc' },
    { ...rsa.jwk, kid: 'hs', alg: 'HS256' },
    { ...ec.jwk, kid: 'mismatch', alg: 'ES256' },
    { ...ed.jwk, kid: 'x448', crv: 'Ed448' },
    { ...rsa.jwk, kid: 7 },
    'not a key',
  ]);
  assert.deepEqual(keys.map((k) => k.kid), ['r', 'r-any', 'e', 'd']);
  assert.equal(skipped, 8);
  assert.deepEqual(candidateKeys(keys, 'RS256', 'r').map((k) => k.kid), ['r']);
  assert.deepEqual(candidateKeys(keys, 'PS256', undefined).map((k) => k.kid), ['r-any'], 'a key pinned to RS256 is not used for PS256');
  assert.deepEqual(candidateKeys(keys, 'ES256', 'e'), [], 'a P-384 key never verifies ES256');
  assert.deepEqual(candidateKeys(keys, 'HS256', 'r'), []);
  assert.deepEqual(candidateKeys(keys, 'none', undefined), []);
});

test('the verified-token cache keys by hash, answers only inside [nbf, exp), and is bounded', () => {
  const cache = new VerifiedTokenCache<{ v: number }>(2);
  const key = VerifiedTokenCache.keyOf('header.payload.signature');
  assert.ok(!key.includes('payload'));
  assert.equal(key.length, 43);
  cache.set(key, { v: 1 }, { notBeforeMs: 100, expiresAtMs: 200, nowMs: 150 }, cache.generation);
  assert.equal(cache.get(key, 99), undefined);
  assert.deepEqual(cache.get(key, 100), { v: 1 });
  assert.deepEqual(cache.get(key, 199), { v: 1 });
  assert.equal(cache.get(key, 200), undefined);
  assert.equal(cache.size, 0, 'an expired entry is dropped when found');

  cache.set('already-over', { v: 2 }, { notBeforeMs: 0, expiresAtMs: 10, nowMs: 10 }, cache.generation);
  const before = cache.generation;
  cache.clear();
  cache.set('stale-generation', { v: 3 }, { notBeforeMs: 0, expiresAtMs: 1_000, nowMs: 0 }, before);
  assert.equal(cache.size, 0);

  for (const k of ['a', 'b', 'c']) cache.set(k, { v: 0 }, { notBeforeMs: 0, expiresAtMs: 1_000, nowMs: 0 }, cache.generation);
  assert.equal(cache.size, 2);
  assert.equal(cache.get('a', 0), undefined, 'least recently used went first');
});

// The cache's pure parts: the ApiRoute cache block's rules (the same check the CRD's CEL makes), what an upstream
// answer may be stored for (RFC 9111), a caller's directives, conditional requests, keys, and the Redis value format.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheSchema } from '../../crds/schemas/api-route.ts';
import { cacheKey } from '../../proxy/cache/cache-key.ts';
import { notModified, requestDirectives, storableForMs } from '../../proxy/cache/cache-policy.ts';
import { decodeRecord, encodeRecord, type CachedResponse } from '../../proxy/cache/cached-response.ts';
import type { TableCache } from '../../proxy/table/table-schema.ts';

test('the cache block: ttl at most 1h, shared and Memory contradict, a scope needs allowClientInvalidation', () => {
  assert.ok(cacheSchema.safeParse({}).success);
  assert.ok(cacheSchema.safeParse({ ttl: '1h', shared: true, allowClientInvalidation: true, invalidationScope: 'c' }).success);
  const messages = (v: unknown): string[] => (cacheSchema.safeParse(v).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.deepEqual(messages({ ttl: '61m' }), ['ttl: ttl must be at most 1h (3600s)']);
  assert.deepEqual(messages({ shared: true, storage: 'Memory' }), ['shared: shared: true and storage: Memory contradict each other: set at most one']);
  assert.deepEqual(messages({ invalidationScope: 'x' }), ['invalidationScope: invalidationScope needs allowClientInvalidation: true']);
});

test('storable: cacheable statuses only; no-store, private, no-cache, Set-Cookie, Vary: * never; freshness shortens the TTL', () => {
  assert.equal(storableForMs(200, {}, 60_000), 60_000);
  assert.equal(storableForMs(404, {}, 60_000), 60_000);
  for (const status of [201, 206, 302, 500, 503]) assert.equal(storableForMs(status, {}, 60_000), 0, String(status));
  for (const cc of ['no-store', 'private', 'no-cache', 'public, max-age=0', 'max-age=abc']) assert.equal(storableForMs(200, { 'cache-control': cc }, 60_000), 0, cc);
  assert.equal(storableForMs(200, { 'set-cookie': ['a=1'] }, 60_000), 0);
  assert.equal(storableForMs(200, { vary: '*' }, 60_000), 0);
  assert.equal(storableForMs(200, { 'cache-control': 'max-age=10' }, 60_000), 10_000);
  assert.equal(storableForMs(200, { 'cache-control': 'max-age=600, s-maxage=20' }, 60_000), 20_000);
  assert.equal(storableForMs(200, { 'cache-control': 'max-age=600' }, 60_000), 60_000, 'the rule caps it');
  assert.equal(storableForMs(200, { 'cache-control': 'max-age=10', age: '4' }, 60_000), 6_000);
  assert.equal(storableForMs(200, { date: 'Wed, 01 Jan 2025 00:00:00 GMT', expires: 'Wed, 01 Jan 2025 00:00:30 GMT' }, 60_000), 30_000);
  assert.equal(storableForMs(200, { expires: '0' }, 60_000), 0, 'an invalid Expires is already expired');
});

test("a caller's directives, and conditional requests", () => {
  assert.equal(requestDirectives({}), null);
  assert.deepEqual(requestDirectives({ 'cache-control': 'max-age=0' }), { noStore: false, refresh: true });
  assert.deepEqual(requestDirectives({ 'cache-control': 'no-store' }), { noStore: true, refresh: false });
  assert.deepEqual(requestDirectives({ pragma: 'no-cache' }), { noStore: false, refresh: true });
  const stored = { etag: '"a"', 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT' };
  assert.ok(notModified({ 'if-none-match': '"b", W/"a"' }, stored));
  assert.ok(notModified({ 'if-none-match': '*' }, stored));
  assert.ok(!notModified({ 'if-none-match': '"b"', 'if-modified-since': 'Thu, 02 Jan 2025 00:00:00 GMT' }, stored), 'If-None-Match decides when present');
  assert.ok(notModified({ 'if-modified-since': 'Wed, 01 Jan 2025 00:00:00 GMT' }, stored));
  assert.ok(!notModified({ 'if-modified-since': 'Tue, 31 Dec 2024 00:00:00 GMT' }, stored));
});

test('keys: readable up to the hash; header values and consumers only hashed; selected query parameters in order', () => {
  const cache: TableCache = { id: 'ns/api/r0', ttlMs: 1, varyHeaders: [], maxEntryBytes: 1, storage: 'memory' };
  assert.equal(cacheKey(cache, 'GET', 'h', '/p', 'b=2&a=1', {}, null), 'ns/api/r0 GET h/p?b=2&a=1');
  assert.equal(cacheKey({ ...cache, queryParams: ['a', 'b'] }, 'GET', 'h', '/p', 'b=2&x=9&a=1', {}, null), 'ns/api/r0 GET h/p?a=1&b=2');
  const alice = { name: 'alice', authorizer: 'ns/keys', plan: undefined, claims: {} };
  const bob = { ...alice, name: 'bob' };
  const a = cacheKey(cache, 'GET', 'h', '/p', '', {}, alice);
  assert.match(a, /^ns\/api\/r0 GET h\/p #[A-Za-z0-9_-]{22}$/);
  assert.ok(!a.includes('alice'));
  assert.notEqual(a, cacheKey(cache, 'GET', 'h', '/p', '', {}, bob));
  const vary = { ...cache, varyHeaders: ['accept-language'] };
  assert.notEqual(cacheKey(vary, 'GET', 'h', '/p', '', {}, null), cacheKey(vary, 'GET', 'h', '/p', '', { 'accept-language': '' }, null), 'absent is not empty');
});

test('the Redis value: metadata and body round-trip; anything else reads as a miss', () => {
  const record: CachedResponse = { kind: 'response', status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('a\nb'), storedAt: 1, expiresAt: 2, ageAtStore: 0, route: 'r', variant: null };
  assert.deepEqual(decodeRecord(encodeRecord(record)), record);
  assert.equal(decodeRecord(Buffer.from('not json\n')), null);
  assert.equal(decodeRecord(Buffer.from('{"kind":"response"}\n')), null);
});

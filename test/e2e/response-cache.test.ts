// The response cache end to end: a real gateway in front of a real upstream that counts its calls, per path. Time
// that decides a result (TTL expiry, Age) is the gateway's injected cache clock, moved by the test: no sleeps.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { TableCache, TablePublicJwk, TableRoute } from '../../proxy/table/table-schema.ts';
import { apiKeyAuthorizer, auth, metricValue, newSalt } from './helpers/authorizers.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { send, type Reply } from './helpers/http-client.ts';
import { backend, route, table } from './helpers/tables.ts';
import { startUpstream, type Upstream } from './helpers/upstreams.ts';
import { eventually } from '../support/wait-for.ts';
import { startStandalone } from '../support/gatehouse-process.ts';
import { jwtConfig, mint, testKey } from '../policy/jwt-fixtures.ts';

/** Calls per path (query included), and a switch to hold /slow answers until released. */
interface CountingUpstream extends Upstream {
  calls: (path: string) => number;
  release: () => void;
}

/**
 * Answers by path, each body naming how many times the path was called ("<path> #<n>"), so a cached answer is told
 * from a fresh one: /no-store, /private, /no-cache, /cookie answer with those; /vary varies on Accept-Language;
 * /bytes/<n> sends n bytes; /slow waits for release(); /etag has an ETag and a Last-Modified; /max-age/<s> says s.
 */
async function startCounting(): Promise<CountingUpstream> {
  const counts = new Map<string, number>();
  let held: Array<() => void> = [];
  let released = false;
  const up = await startUpstream('counting', (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const url = req.url ?? '/';
    const n = (counts.get(url) ?? 0) + 1;
    counts.set(url, n);
    const path = url.split('?')[0] ?? '/';
    const body = `${url} #${n} consumer=${String(req.headers['x-consumer'] ?? '-')} lang=${String(req.headers['accept-language'] ?? '-')}`;
    const headers: Record<string, string | string[]> = { 'content-type': 'text/plain' };
    if (path === '/no-store') headers['cache-control'] = 'no-store';
    if (path === '/private') headers['cache-control'] = 'private, max-age=60';
    if (path === '/no-cache') headers['cache-control'] = 'no-cache';
    if (path === '/cookie') headers['set-cookie'] = ['session=abc'];
    if (path === '/vary') headers['vary'] = 'Accept-Language';
    if (path === '/etag') {
      headers['etag'] = '"v1"';
      headers['last-modified'] = 'Wed, 01 Jan 2025 00:00:00 GMT';
    }
    const maxAge = /^\/max-age\/(\d+)$/.exec(path);
    if (maxAge !== null) headers['cache-control'] = `max-age=${maxAge[1]}`;
    const bytes = /^\/bytes\/(\d+)$/.exec(path);
    if (bytes !== null) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.alloc(Number(bytes[1]), n % 256));
      return;
    }
    const answer = (): void => void res.writeHead(200, headers).end(body);
    if (path === '/slow' && !released) held.push(answer);
    else answer();
  });
  return Object.assign(up, {
    calls: (p: string) => counts.get(p) ?? 0,
    release: () => {
      released = true;
      for (const a of held) a();
      held = [];
    },
  });
}

function cacheConfig(overrides: Partial<TableCache> = {}): TableCache {
  return { id: 'test/cached/r0', ttlMs: 60_000, varyHeaders: [], maxEntryBytes: 1024 * 1024, storage: 'memory', ...overrides };
}

/** A clock the test moves. */
function testClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_700_000_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

async function setup(t: TestContext, cache: Partial<TableCache> = {}, extra: Partial<TableRoute> = {}, more: Parameters<typeof table>[3] = [], opts: Parameters<typeof startTestGateway>[2] = {}) {
  const upstream = await startCounting();
  t.after(() => upstream.close());
  const clock = testClock();
  const gw = await startTestGateway(
    t,
    table([route('cached', '/', ['up'], { cache: cacheConfig(cache), ...extra })], [backend('up', [upstream.port])], undefined, more),
    { cache: { clock: clock.now, ...opts.cache }, ...opts },
  );
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> => send(gw.port, path, { method, headers });
  return { upstream, clock, gw, get };
}

test('hit, miss and expiry: the second GET is a HIT with an Age, the upstream is called once until the TTL passes', async (t) => {
  const { upstream, clock, gw, get } = await setup(t);
  const first = await get('/items');
  assert.equal(first.status, 200);
  assert.equal(first.headers['x-cache'], 'MISS');
  assert.equal(first.body, '/items #1 consumer=- lang=-');
  clock.advance(7_500);
  const second = await get('/items');
  assert.equal(second.headers['x-cache'], 'HIT');
  assert.equal(second.body, '/items #1 consumer=- lang=-');
  assert.equal(second.headers.age, '7');
  assert.equal(second.headers['content-length'], String(second.body.length));
  assert.ok(second.headers['x-request-id'] !== first.headers['x-request-id'], 'each answer has its own request id');
  assert.equal(upstream.calls('/items'), 1);
  // Another path, and another query string, are other keys.
  assert.equal((await get('/items?page=2')).headers['x-cache'], 'MISS');
  assert.equal(upstream.calls('/items?page=2'), 1);
  // Past the TTL: fetched again, and stored again.
  clock.advance(60_000);
  const third = await get('/items');
  assert.equal(third.headers['x-cache'], 'MISS');
  assert.equal(third.body, '/items #2 consumer=- lang=-');
  assert.equal((await get('/items')).headers['x-cache'], 'HIT');
  assert.equal(upstream.calls('/items'), 2);
  // HEAD is its own key; POST is never cached.
  assert.equal((await get('/items', {}, 'HEAD')).headers['x-cache'], 'MISS');
  assert.equal((await get('/items', {}, 'HEAD')).headers['x-cache'], 'HIT');
  assert.equal((await get('/items', {}, 'POST')).headers['x-cache'], 'BYPASS');
  assert.equal((await get('/items', {}, 'POST')).headers['x-cache'], 'BYPASS');
  assert.equal(upstream.calls('/items'), 5);
  assert.equal(await metricValue(gw.adminPort, 'gatehouse_cache_requests_total', { route: 'cached', result: 'hit' }), 3);
  assert.equal(await metricValue(gw.adminPort, 'gatehouse_cache_requests_total', { route: 'cached', result: 'miss' }), 4);
  assert.equal(await metricValue(gw.adminPort, 'gatehouse_cache_requests_total', { route: 'cached', result: 'bypass' }), 2);
  assert.ok((await metricValue(gw.adminPort, 'gatehouse_cache_bytes', { route: 'cached' })) > 0);
});

test("the upstream's max-age shortens the rule's TTL", async (t) => {
  const { upstream, clock, get } = await setup(t);
  await get('/max-age/5');
  clock.advance(4_000);
  assert.equal((await get('/max-age/5')).headers['x-cache'], 'HIT');
  clock.advance(1_000);
  assert.equal((await get('/max-age/5')).headers['x-cache'], 'MISS');
  assert.equal(upstream.calls('/max-age/5'), 2);
});

test('no-store, private, no-cache and Set-Cookie answers are never stored; a caller sending no-store is not served from the cache', async (t) => {
  const { upstream, get } = await setup(t);
  for (const path of ['/no-store', '/private', '/no-cache', '/cookie']) {
    for (let i = 1; i <= 3; i++) {
      const r = await get(path);
      assert.equal(r.headers['x-cache'], 'MISS', path);
      assert.equal(r.body.startsWith(`${path} #${i} `), true, `${path}: ${r.body}`);
    }
    assert.equal(upstream.calls(path), 3, path);
  }
  const cookie = await get('/cookie');
  assert.deepEqual(cookie.headers['set-cookie'], ['session=abc'], 'the caller still gets its cookie');
  await get('/plain');
  assert.equal((await get('/plain', { 'cache-control': 'no-store' })).headers['x-cache'], 'BYPASS');
  assert.equal(upstream.calls('/plain'), 2);
});

test('two consumers never share an entry; an Authorization the route does not authenticate is not cached', async (t) => {
  const salt = newSalt();
  const keys = apiKeyAuthorizer('test/keys', salt, [
    { key: 'key-alice-000000000001', consumer: 'alice' },
    { key: 'key-bob-00000000000002', consumer: 'bob' },
  ]);
  const { upstream, get } = await setup(t, {}, { auth: auth('test/keys') }, [keys]);
  const alice = { 'x-api-key': 'key-alice-000000000001' };
  const bob = { 'x-api-key': 'key-bob-00000000000002' };
  assert.equal((await get('/me', alice)).body, '/me #1 consumer=alice lang=-');
  assert.equal((await get('/me', bob)).body, '/me #2 consumer=bob lang=-', "bob is not served alice's answer");
  const again = await get('/me', alice);
  assert.equal(again.headers['x-cache'], 'HIT');
  assert.equal(again.body, '/me #1 consumer=alice lang=-');
  assert.equal((await get('/me', bob)).body, '/me #2 consumer=bob lang=-');
  // Refused before the cache: a hit is authorized first.
  assert.equal((await get('/me')).status, 401);
  assert.equal((await get('/me', { 'x-api-key': 'wrong-key-000000000000' })).status, 401);
  assert.equal(upstream.calls('/me'), 2);

  // A route without an authorizer: a request carrying Authorization is forwarded, never stored or served a stored answer.
  const open = await setup(t);
  await open.get('/data');
  const withAuth = await open.get('/data', { authorization: 'Bearer something' });
  assert.equal(withAuth.headers['x-cache'], 'BYPASS');
  assert.equal(withAuth.body, '/data #2 consumer=- lang=-');
  assert.equal((await open.get('/data', { authorization: 'Bearer something' })).body, '/data #3 consumer=- lang=-');
  assert.equal((await open.get('/data')).body, '/data #1 consumer=- lang=-');
});

test("the upstream's Vary is honoured, and a rule's varyHeaders are part of the key", async (t) => {
  const { upstream, get } = await setup(t);
  assert.equal((await get('/vary', { 'accept-language': 'en' })).body, '/vary #1 consumer=- lang=en');
  assert.equal((await get('/vary', { 'accept-language': 'fr' })).body, '/vary #2 consumer=- lang=fr');
  const en = await get('/vary', { 'accept-language': 'en' });
  assert.equal(en.headers['x-cache'], 'HIT');
  assert.equal(en.body, '/vary #1 consumer=- lang=en');
  assert.equal(en.headers.vary, 'Accept-Language');
  assert.equal((await get('/vary', { 'accept-language': 'fr' })).body, '/vary #2 consumer=- lang=fr');
  assert.equal((await get('/vary')).body, '/vary #3 consumer=- lang=-', 'no Accept-Language is a variant of its own');
  assert.equal(upstream.calls('/vary'), 3);

  const keyed = await setup(t, { varyHeaders: ['accept-language'] });
  assert.equal((await keyed.get('/plain', { 'accept-language': 'en' })).body, '/plain #1 consumer=- lang=en');
  assert.equal((await keyed.get('/plain', { 'accept-language': 'de' })).body, '/plain #2 consumer=- lang=de');
  assert.equal((await keyed.get('/plain', { 'accept-language': 'en' })).headers['x-cache'], 'HIT');
});

test('queryParams: only the listed parameters are in the key, in any order', async (t) => {
  const { upstream, get } = await setup(t, { queryParams: ['page', 'size'] });
  await get('/list?page=1&size=10&utm=a');
  const r = await get('/list?size=10&utm=b&page=1');
  assert.equal(r.headers['x-cache'], 'HIT');
  assert.equal((await get('/list?page=2&size=10')).headers['x-cache'], 'MISS');
  assert.equal(upstream.calls('/list?page=1&size=10&utm=a') + upstream.calls('/list?page=2&size=10'), 2);
});

test('conditional requests are answered 304 from the cache (If-None-Match, If-Modified-Since)', async (t) => {
  const { upstream, get } = await setup(t);
  const first = await get('/etag');
  assert.equal(first.headers.etag, '"v1"');
  const inm = await get('/etag', { 'if-none-match': 'W/"v1"' });
  assert.equal(inm.status, 304);
  assert.equal(inm.headers['x-cache'], 'HIT');
  assert.equal(inm.headers.etag, '"v1"');
  assert.equal(inm.body, '');
  assert.equal((await get('/etag', { 'if-none-match': '"v2"' })).status, 200);
  assert.equal((await get('/etag', { 'if-modified-since': 'Thu, 02 Jan 2025 00:00:00 GMT' })).status, 304);
  assert.equal((await get('/etag', { 'if-modified-since': 'Tue, 31 Dec 2024 00:00:00 GMT' })).status, 200);
  assert.equal(upstream.calls('/etag'), 1);
});

test('coalescing: 100 concurrent misses for one key make one upstream call; the others wait and are served its answer', async (t) => {
  const { upstream, gw, get } = await setup(t);
  const replies = Array.from({ length: 100 }, () => get('/slow'));
  await eventually(() => scrapeWaiting(gw.adminPort, 99), '99 requests waiting for the first');
  assert.equal(upstream.calls('/slow'), 1);
  upstream.release();
  const all = await Promise.all(replies);
  assert.ok(all.every((r) => r.status === 200 && r.body === '/slow #1 consumer=- lang=-'));
  assert.equal(all.filter((r) => r.headers['x-cache'] === 'MISS').length, 1);
  assert.equal(all.filter((r) => r.headers['x-cache'] === 'HIT').length, 99);
  assert.equal(upstream.calls('/slow'), 1);
});

/** The label-less gauge, read from the text (metricValue reads labelled samples). */
async function scrapeWaiting(adminPort: number, want: number): Promise<boolean> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return text.split('\n').includes(`gatehouse_cache_coalesced_waiting ${want}`);
}

test('coalescing is bounded: waiters whose leader is too slow go upstream themselves', async (t) => {
  const { upstream, get } = await setup(t, {}, {}, [], { cache: { coalesceWaitMs: 200 } });
  const leader = get('/slow');
  await eventually(() => upstream.calls('/slow') === 1, 'the leader upstream');
  // The follower waits 200 ms, then goes upstream too (where it is held as well).
  const follower = get('/slow');
  await eventually(() => upstream.calls('/slow') === 2, 'the follower upstream after its bounded wait', 5_000);
  upstream.release();
  assert.equal((await leader).headers['x-cache'], 'MISS');
  assert.equal((await follower).headers['x-cache'], 'MISS');
});

test('client invalidation: max-age=0 refreshes the entry only where the rule allows it, and only with the scope it names', async (t) => {
  const refused = await setup(t);
  await refused.get('/doc');
  const ignored = await refused.get('/doc', { 'cache-control': 'max-age=0' });
  assert.equal(ignored.headers['x-cache'], 'HIT', 'not allowed: the header is ignored');
  assert.equal(refused.upstream.calls('/doc'), 1);

  const allowed = await setup(t, { clientInvalidation: {} });
  await allowed.get('/doc');
  const fresh = await allowed.get('/doc', { 'cache-control': 'max-age=0' });
  assert.equal(fresh.headers['x-cache'], 'BYPASS');
  assert.equal(fresh.body, '/doc #2 consumer=- lang=-');
  const after = await allowed.get('/doc');
  assert.equal(after.headers['x-cache'], 'HIT');
  assert.equal(after.body, '/doc #2 consumer=- lang=-', 'the fresh answer replaced the entry');
  assert.equal((await allowed.get('/doc', { pragma: 'no-cache' })).body, '/doc #3 consumer=- lang=-');

  // With a scope: only a caller granted it may.
  const key = await testKey('ES256', 'k1');
  const jwt = jwtConfig({ id: 'test/jwt', jwks: { source: 'inline', keys: [key.jwk as TablePublicJwk] } });
  const scoped = await setup(t, { clientInvalidation: { scope: 'cache:invalidate' } }, { auth: auth('test/jwt') }, [jwt]);
  const plain = { authorization: `Bearer ${await mint(key, { sub: 'carol' })}` };
  const admin = { authorization: `Bearer ${await mint(key, { sub: 'carol', scope: 'read cache:invalidate' })}` };
  await scoped.get('/doc', plain);
  assert.equal((await scoped.get('/doc', { ...plain, 'cache-control': 'max-age=0' })).headers['x-cache'], 'HIT', 'no scope: ignored');
  assert.equal(scoped.upstream.calls('/doc'), 1);
  const byAdmin = await scoped.get('/doc', { ...admin, 'cache-control': 'max-age=0' });
  assert.equal(byAdmin.headers['x-cache'], 'BYPASS');
  assert.equal(scoped.upstream.calls('/doc'), 2);
});

test('an answer larger than maxEntrySize streams through whole and is not stored', async (t) => {
  const { upstream, get } = await setup(t, { maxEntryBytes: 100_000 });
  const big = await get('/bytes/300000');
  assert.equal(big.body.length, 300_000);
  assert.equal((await get('/bytes/300000')).headers['x-cache'], 'MISS');
  assert.equal(upstream.calls('/bytes/300000'), 2);
  await get('/bytes/90000');
  assert.equal((await get('/bytes/90000')).headers['x-cache'], 'HIT');
});

test('the memory LRU stays within --cache-max-bytes under a flood of distinct keys, evicting the oldest', async (t) => {
  const maxBytes = 1024 * 1024;
  const { upstream, gw, get } = await setup(t, {}, {}, [], { cache: { maxBytes } });
  for (let i = 0; i < 120; i++) assert.equal((await get(`/bytes/20000?i=${i}`)).status, 200);
  const held = await metricValue(gw.adminPort, 'gatehouse_cache_bytes', { route: 'cached' });
  assert.ok(held > 0 && held <= maxBytes, `held ${held} bytes`);
  const evicted = await metricValue(gw.adminPort, 'gatehouse_cache_evictions_total', { route: 'cached' });
  assert.ok(evicted >= 60, `${evicted} evictions`);
  // The newest is still there, the oldest is gone.
  assert.equal((await get('/bytes/20000?i=119')).headers['x-cache'], 'HIT');
  assert.equal((await get('/bytes/20000?i=0')).headers['x-cache'], 'MISS');
  assert.equal(upstream.calls('/bytes/20000?i=0'), 2);
});

test('purge on the admin port: refused without a token file (403), without or with a wrong token (401); by route and by key prefix with it', async (t) => {
  const closed = await setup(t);
  const purge = (port: number, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${port}/cache/purge`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  assert.equal((await purge(closed.gw.adminPort, { route: 'test/cached' })).status, 403);

  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-admin-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 's3cret-admin-token\n');
  const { upstream, gw, get } = await setup(t, {}, {}, [], { adminTokenFile: tokenFile });
  const admin = gw.adminPort;
  await get('/a');
  await get('/b/1');
  await get('/b/2');
  assert.equal((await purge(admin, { route: 'test/cached' })).status, 401);
  const wrong = await purge(admin, { route: 'test/cached' }, { authorization: 'Bearer nope' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('www-authenticate'), 'Bearer');
  assert.equal((await get('/a')).headers['x-cache'], 'HIT', 'nothing purged');
  const token = { authorization: 'Bearer s3cret-admin-token' };
  assert.equal((await purge(admin, { route: 'bad route' }, token)).status, 400);
  assert.equal((await fetch(`http://127.0.0.1:${admin}/cache/purge`, { headers: token })).status, 405);

  const byPrefix = await purge(admin, { prefix: 'test/cached/r0 GET 127.0.0.1/b/' }, token);
  assert.equal(byPrefix.status, 200);
  assert.deepEqual(await byPrefix.json(), { prefix: 'test/cached/r0 GET 127.0.0.1/b/', memory: 2, redis: null });
  assert.equal((await get('/b/1')).headers['x-cache'], 'MISS');
  assert.equal((await get('/a')).headers['x-cache'], 'HIT');
  const byRoute = await purge(admin, { route: 'test/cached' }, token);
  assert.equal(((await byRoute.json()) as { memory: number }).memory, 2);
  assert.equal((await get('/a')).headers['x-cache'], 'MISS');
  assert.equal(upstream.calls('/a'), 2);
  // The read-only endpoints stay open.
  assert.equal((await fetch(`http://127.0.0.1:${admin}/healthz`)).status, 200);
});

test('cacheEpoch: changing an ApiRoute field drops its cached answers, through the compiler (gatehouse standalone), without a token', async (t) => {
  const upstream = await startCounting();
  t.after(() => upstream.close());
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-epoch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const routeFile = (epoch: string | undefined): string =>
    `${JSON.stringify({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiRoute',
      metadata: { name: 'cached', namespace: 'default' },
      spec: { ...(epoch !== undefined && { cacheEpoch: epoch }), rules: [{ backends: [{ url: `http://127.0.0.1:${upstream.port}` }], cache: { ttl: '1h' } }] },
    })}\n`;
  await writeFile(join(dir, 'route.yaml'), routeFile(undefined));
  const gw = await startStandalone(dir);
  t.after(() => gw.stop());
  const get = (): Promise<Reply> => send(gw.port, '/page');
  assert.equal((await get()).headers['x-cache'], 'MISS');
  assert.equal((await get()).headers['x-cache'], 'HIT');

  await writeFile(join(dir, 'route.yaml'), routeFile('2026-11-30'));
  // The new table has arrived once an answer misses; the upstream was called again for it, once.
  await eventually(async () => (await get()).headers['x-cache'] === 'MISS', 'an answer after the epoch change is fetched anew');
  assert.equal(upstream.calls('/page'), 2);
  const after = await get();
  assert.equal(after.headers['x-cache'], 'HIT');
  assert.match(after.body, /^\/page #2 /);
});

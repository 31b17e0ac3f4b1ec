// The shared cache tier: two gateways on one real redis-server. One misses and stores, the other is served its answer
// (its upstream never called); a purge on either admin port empties Redis for both; Redis away is a miss, not an error.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startRedisServer } from '../support/redis-server.ts';
import { eventually } from '../support/wait-for.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { send } from './helpers/http-client.ts';
import { backend, route, table } from './helpers/tables.ts';
import { startUpstream } from './helpers/upstreams.ts';

test('two gateways share the Redis tier: one misses and stores, the other hits; purge empties it for both; Redis down is a miss', async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.close());
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-cache-redis-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'fleet-admin-token');

  // Each gateway has its own upstream, so which one was called is known.
  const gateways = [];
  for (const name of ['a', 'b']) {
    const up = await startUpstream(name, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`from ${name}`);
    });
    t.after(() => up.close());
    const tbl = table(
      [route('shared', '/', ['up'], { cache: { id: 'test/shared/r0', ttlMs: 60_000, varyHeaders: [], maxEntryBytes: 1 << 20, storage: 'redis' } })],
      [backend('up', [up.port])],
      'v1',
    );
    const gw = await startTestGateway(t, tbl, { redis: { url: redis.url, commandTimeoutMs: 1_000, connectTimeoutMs: 2_000 }, adminTokenFile: tokenFile });
    gateways.push({ gw, up });
  }
  const [a, b] = gateways as [(typeof gateways)[number], (typeof gateways)[number]];
  // Both connections ready (a request before would be a miss on a Redis not yet connected).
  await eventually(async () => (await fetch(`http://127.0.0.1:${a.gw.adminPort}/readyz`).then((r) => r.text())).startsWith('ok v1') &&
    (await fetch(`http://127.0.0.1:${a.gw.adminPort}/metrics`).then((r) => r.text())).includes('gatehouse_redis_up 1') &&
    (await fetch(`http://127.0.0.1:${b.gw.adminPort}/metrics`).then((r) => r.text())).includes('gatehouse_redis_up 1'), 'both gateways connected to Redis');

  const first = await send(a.gw.port, '/catalog?page=1');
  assert.equal(first.headers['x-cache'], 'MISS');
  assert.equal(first.body, 'from a');
  // The store is fire-and-forget: wait until the key is in Redis.
  await eventually(async () => (await redis.cli(['--scan', '--pattern', 'gatehouse:cache:*'])).includes('test/shared/r0 GET 127.0.0.1/catalog?page=1'), 'the entry in Redis');
  const other = await send(b.gw.port, '/catalog?page=1');
  assert.equal(other.headers['x-cache'], 'HIT');
  assert.equal(other.body, 'from a', "b serves a's answer");
  assert.equal(b.up.hits(), 0, "b's upstream was never called");
  const ttl = Number((await redis.cli(['pttl', 'gatehouse:cache:test/shared/r0 GET 127.0.0.1/catalog?page=1'])).trim());
  assert.ok(ttl > 0 && ttl <= 60_000, `the key expires with the entry (pttl ${ttl})`);

  // A purge on b's admin port removes it for a too.
  const purged = await fetch(`http://127.0.0.1:${b.gw.adminPort}/cache/purge`, { method: 'POST', headers: { authorization: 'Bearer fleet-admin-token' }, body: JSON.stringify({ route: 'test/shared' }) });
  assert.equal(purged.status, 200);
  assert.deepEqual(await purged.json(), { prefix: 'test/shared/r', memory: 0, redis: 1 });
  const afterPurge = await send(a.gw.port, '/catalog?page=1');
  assert.equal(afterPurge.headers['x-cache'], 'MISS');
  assert.equal(a.up.hits(), 2);

  // Redis gone: every request is a miss served by the upstream, none fails.
  await redis.stop();
  for (let i = 0; i < 3; i++) {
    const r = await send(b.gw.port, '/catalog?page=1');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'from b');
  }
});

// Table deltas over the real stream (SnapshotStream ↔ ControllerSubscription, real gateways): a sequence of route and
// backend changes reaches the proxies as deltas (endpoint-only ones as endpoint updates), and each proxy ends up with
// the controller's table byte for byte (its persisted table file is compared with the controller's table). A delta a
// proxy cannot apply is NACKed, the old table keeps serving, and the whole table follows.
import { strict as assert } from 'node:assert';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadTableFile } from '../../proxy/subscribe/table-file.ts';
import { routingTableSchema, type RoutingTable, type TableBackend, type TableRoute } from '../../proxy/table/table-schema.ts';

import { startProxy as subscribeProxy, startStream } from './stream-fixture.ts';
import type { Gateway } from '../e2e/helpers/gateway.ts';
import { send } from '../e2e/helpers/http-client.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';
import { startEcho } from '../e2e/helpers/upstreams.ts';
import { eventually } from '../support/wait-for.ts';


/** As the controller's compiler emits it: every object in the schema's key order. */
const canonical = (t: RoutingTable): RoutingTable => routingTableSchema.parse(t);



async function updates(gateway: Gateway): Promise<Record<string, number>> {
  const m = await gateway.metrics.registry.getSingleMetric('gatehouse_table_updates_total')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.kind), v.value]));
}

const hostOf = (i: number): string => `h${i % 50}.example.com`;
const numbered = (i: number, be: string, extra: Partial<TableRoute> = {}): TableRoute => route(`r${i}`, `/r${i}`, [be], { hosts: [hostOf(i)], ...extra });

test('route and backend changes travel as deltas; each proxy ends up with the controller table byte for byte', async (t) => {
  const [a, b, c] = await Promise.all([startEcho('a'), startEcho('b'), startEcho('c')]);
  t.after(() => Promise.all([a.close(), b.close(), c.close()]));
  const { stream, fleet, url } = await startStream(t);
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-delta-'));

  const base: TableRoute[] = Array.from({ length: 600 }, (_, i) => numbered(i, i < 300 ? 'be-a' : 'be-b'));
  base.push(route('wild', '/w', ['be-a'], { hosts: ['*.wild.example.com'] }), route('any', '/any', ['be-b']));
  const backends: TableBackend[] = [backend('be-a', [a.port]), backend('be-b', [b.port])];
  const v1 = canonical(table(base, backends, 'v1'));
  stream.publish(v1);
  await stream.idle();
  const gateways = [await startProxy(t, url, 'p1', join(dir, 'p1.json')), await startProxy(t, url, 'p2', join(dir, 'p2.json'))];

  const reach = async (version: RoutingTable): Promise<void> => {
    stream.publish(version);
    await eventually(async () => gateways.every((g) => g.version() === version.version), `both proxies serve ${version.version}`, 15_000);
    await eventually(async () => fleet.list().every((p) => p.version === version.version), `both ACKs of ${version.version}`);
    const expected = JSON.stringify(version);
    for (const name of ['p1', 'p2']) {
      await eventually(async () => {
        const loaded = await loadTableFile(join(dir, `${name}.json`));
        return loaded.ok && JSON.stringify(canonical(loaded.table)) === expected;
      }, `${name}'s table file is ${version.version}, byte for byte`);
    }
    assert.equal(JSON.stringify(gateways[0]!.table()), expected);
  };
  const get = (g: Gateway, host: string, path: string) => send(g.port, path, { headers: { host } });
  await reach(v1);

  // v2: a route removed, one changed in place, one added in the middle, a new backend with a route at the end.
  const v2routes = base.filter((r) => r.id !== 'r5').map((r) => (r.id === 'r10' ? numbered(10, 'be-a', { path: { type: 'prefix', value: '/r10-new' } }) : r));
  v2routes.splice(
    v2routes.findIndex((r) => r.id === 'r100') + 1,
    0,
    route('r600', '/fresh', ['be-b'], { hosts: ['fresh.example.com'] }),
  );
  v2routes.push(route('r601', '/c', ['be-c'], { hosts: ['c.example.com'] }));
  const v2 = canonical(table(v2routes, [...backends, backend('be-c', [c.port])], 'v2'));
  await reach(v2);
  for (const g of gateways) {
    assert.equal((await get(g, hostOf(5), '/r5')).status, 404);
    assert.equal((await get(g, hostOf(10), '/r10')).status, 404);
    assert.equal(JSON.parse((await get(g, hostOf(10), '/r10-new')).body).upstream, 'a');
    assert.equal(JSON.parse((await get(g, 'fresh.example.com', '/fresh')).body).upstream, 'b');
    assert.equal(JSON.parse((await get(g, 'c.example.com', '/c')).body).upstream, 'c');
    assert.equal(JSON.parse((await get(g, 'x.wild.example.com', '/w')).body).upstream, 'a');
    assert.equal(JSON.parse((await get(g, hostOf(7), '/r7')).body).upstream, 'a');
  }

  // v3: be-a's endpoints move to c and a route changes, in one version: a delta (routes to be-a are rebuilt).
  const v3routes = v2routes.map((r) => (r.id === 'r20' ? numbered(20, 'be-b') : r));
  const v3 = canonical(table(v3routes, [backend('be-a', [c.port]), backend('be-b', [b.port]), backend('be-c', [c.port])], 'v3'));
  await reach(v3);
  for (const g of gateways) {
    assert.equal(JSON.parse((await get(g, hostOf(7), '/r7')).body).upstream, 'c');
    assert.equal(JSON.parse((await get(g, hostOf(20), '/r20')).body).upstream, 'b');
  }

  // v4: only be-b's endpoints: an endpoint update, no route rebuild.
  const v4 = canonical(table(v3routes, [backend('be-a', [c.port]), backend('be-b', [a.port]), backend('be-c', [c.port])], 'v4'));
  await reach(v4);
  for (const g of gateways) assert.equal(JSON.parse((await get(g, hostOf(400), '/r400')).body).upstream, 'a');

  // v5: be-c and its route removed; be-b's settings change (a path prefix): every route to it is rebuilt.
  const v5routes = v3routes.filter((r) => r.id !== 'r601');
  const v5 = canonical(table(v5routes, [backend('be-a', [c.port]), backend('be-b', [a.port], { pathPrefix: '/pre' })], 'v5'));
  await reach(v5);
  for (const g of gateways) {
    assert.equal((await get(g, 'c.example.com', '/c')).status, 404);
    const echoed = JSON.parse((await get(g, hostOf(400), '/r400')).body);
    assert.equal(echoed.upstream, 'a');
    assert.equal(echoed.path, '/pre/r400');
    assert.equal(JSON.parse((await get(g, hostOf(7), '/r7')).body).upstream, 'c');
  }

  for (const g of gateways) assert.deepEqual(await updates(g), { full: 1, delta: 3, endpoints: 1 });
  assert.deepEqual({ full: stream.sentCounts.full, delta: stream.sentCounts.delta, endpoints: stream.sentCounts.endpoints }, { full: 2, delta: 6, endpoints: 2 });
});

test('a delta the proxy cannot apply is NACKed, the old table keeps serving, and the whole table follows', async (t) => {
  const a = await startEcho('a');
  t.after(() => a.close());
  const { stream, fleet, url } = await startStream(t);
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-delta-'));
  const v1 = canonical(table([route('r1', '/one', ['be'])], [backend('be', [a.port])], 'v1'));
  stream.publish(v1);
  const gateway = await startProxy(t, url, 'p', join(dir, 'p.json'));
  await eventually(async () => gateway.version() === 'v1', 'serves v1');
  // The proxy now serves something the controller did not send: a delta against v1 cannot apply.
  assert.ok(gateway.applyTable(canonical(table([route('r9', '/local', ['be'])], [backend('be', [a.port])], 'local'))).ok);
  const v2 = canonical(table([route('r1', '/one', ['be']), route('r2', '/two', ['be'])], [backend('be', [a.port])], 'v2'));
  stream.publish(v2);
  await eventually(async () => gateway.version() === 'v2', 'resynced to v2 with the whole table');
  assert.equal(stream.sentCounts.delta, 1);
  assert.equal(stream.sentCounts.full, 2);
  assert.equal((await send(gateway.port, '/two')).status, 200);
  assert.equal((await send(gateway.port, '/local')).status, 404);
  // Asking for the whole table is not a rejection of it.
  await eventually(async () => fleet.list()[0]?.version === 'v2', 'ACK of v2');
  assert.equal(fleet.list()[0]?.lastError, null);
});

/** A proxy that persists its table, as the delta tests compare the file with the controller's table. */
async function startProxy(t: TestContext, url: string, name: string, tableFile: string): Promise<Gateway> {
  return (await subscribeProxy(t, url, name, { tableFile })).gateway;
}

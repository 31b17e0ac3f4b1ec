// The controller ↔ proxy stream in one process: the real SnapshotStream and ControllerSubscription over loopback
// WebSockets, real gateways serving real requests. (test/kube/fleet-e2e.test.ts runs the same with real processes.)
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { FleetTracker } from '../../controller/distribute/fleet-tracker.ts';
import { SnapshotStream } from '../../controller/distribute/snapshot-stream.ts';
import { StreamToken } from '../../controller/distribute/stream-token.ts';
import { journalPathOf, loadTableFile } from '../../proxy/subscribe/table-file.ts';
import { STREAM_SUBPROTOCOL } from '../../proxy/table/stream-protocol.ts';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';

import { quiet, startProxy, startStream, TOKEN } from './stream-fixture.ts';
import type { Gateway } from '../e2e/helpers/gateway.ts';
import { send } from '../e2e/helpers/http-client.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';
import { startEcho } from '../e2e/helpers/upstreams.ts';
import { eventually } from '../support/wait-for.ts';




function updates(gateway: Gateway): Promise<{ full: number; endpoints: number }> {
  return gateway.metrics.registry.getSingleMetric('gatehouse_table_updates_total')!.get().then((m) => ({
    full: m.values.find((v) => v.labels.kind === 'full')?.value ?? 0,
    endpoints: m.values.find((v) => v.labels.kind === 'endpoints')?.value ?? 0,
  }));
}

test('proxies get the current table on connect, then each new version; endpoint-only changes skip the route rebuild', async (t) => {
  const a = await startEcho('a');
  const b = await startEcho('b');
  t.after(() => Promise.all([a.close(), b.close()]));
  const { stream, fleet, url } = await startStream(t);
  const v1: RoutingTable = table([route('r1', '/', ['be'])], [backend('be', [a.port])], 'v1');
  stream.publish(v1);
  await stream.idle();
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-fleet-'));
  const proxies = await Promise.all([startProxy(t, url, 'p1', { tableFile: join(dir, 'p1.json') }), startProxy(t, url, 'p2')]);
  await eventually(async () => proxies.every((p) => p.gateway.version() === 'v1'), 'both proxies serve v1');
  await eventually(async () => fleet.list().every((p) => p.version === 'v1' && p.lastAckAt !== null), 'both ACKs recorded');
  assert.equal((await send(proxies[0].gateway.port, '/x')).status, 200);

  // Same version again: nothing is sent.
  const sentBefore = { ...stream.sentCounts };
  stream.publish(v1);
  await stream.idle();
  assert.deepEqual(stream.sentCounts, sentBefore);

  // Only the endpoints change: an endpoint update, no route rebuild, traffic moves to the new endpoint.
  const v2 = table([route('r1', '/', ['be'])], [backend('be', [b.port])], 'v2');
  stream.publish(v2);
  await eventually(async () => proxies.every((p) => p.gateway.version() === 'v2'), 'both proxies serve v2');
  assert.equal(stream.sentCounts.endpoints, 2);
  for (const p of proxies) assert.deepEqual(await updates(p.gateway), { full: 1, endpoints: 1 });
  const reply = await send(proxies[1].gateway.port, '/y');
  assert.equal(JSON.parse(reply.body).upstream, 'b');

  // The table file follows the applied table (mode 0600), endpoint updates included.
  await eventually(async () => {
    const loaded = await loadTableFile(join(dir, 'p1.json'));
    return loaded.ok && loaded.table.version === 'v2';
  }, 'the table file holds v2');
  assert.equal((await stat(join(dir, 'p1.json'))).mode & 0o777, 0o600);
  assert.equal((await stat(journalPathOf(join(dir, 'p1.json')))).mode & 0o777, 0o600);
  // The endpoint update is a journal record, not a rewrite of the snapshot.
  assert.ok((await readFile(journalPathOf(join(dir, 'p1.json')), 'utf8')).includes(`"port":${b.port}`));
  const loaded = await loadTableFile(join(dir, 'p1.json'));
  assert.ok(loaded.ok && JSON.stringify(loaded.table).includes(`"port":${b.port}`));
});

test('a table the proxy cannot apply is NACKed with the reason and the old one keeps serving', async (t) => {
  const a = await startEcho('a');
  t.after(() => a.close());
  const { stream, fleet, url } = await startStream(t);
  stream.publish(table([route('r1', '/', ['be'])], [backend('be', [a.port])], 'small'));
  const { gateway } = await startProxy(t, url, 'tiny', { maxRoutes: 1 });
  await eventually(async () => gateway.version() === 'small', 'serves the small table');
  stream.publish(table([route('r1', '/', ['be']), route('r2', '/two', ['be'])], [backend('be', [a.port])], 'big'));
  await eventually(async () => fleet.list()[0]?.lastError?.version === 'big', 'the NACK is recorded');
  assert.match(fleet.list()[0]!.lastError!.error, /at most 1 \(--max-routes\)/);
  assert.equal(gateway.version(), 'small');
  assert.equal((await send(gateway.port, '/two')).status, 200);
});

test('a table split into many parts (1,200 routes) arrives whole', async (t) => {
  const a = await startEcho('a');
  t.after(() => a.close());
  const { stream, url } = await startStream(t);
  const routes = Array.from({ length: 1200 }, (_, i) => route(`r${i}`, `/r${i}`, ['be']));
  stream.publish(table(routes, [backend('be', [a.port])], 'many'));
  const { gateway } = await startProxy(t, url, 'p');
  await eventually(async () => gateway.version() === 'many', 'serves the 1,200-route table', 15_000);
  assert.equal((await send(gateway.port, '/r1199')).status, 200);
  // Reported as a whole-table apply, apart from the last-change gauges.
  const wholeCpu = async (): Promise<number | undefined> => (await gateway.metrics.registry.getSingleMetric('gatehouse_table_whole_apply_cpu_seconds')!.get()).values[0]?.value;
  await eventually(async () => ((await wholeCpu()) ?? 0) > 0, 'the whole-table apply is reported');
});

test('a client without the token (or with a wrong one) is refused with 401 at the upgrade', async (t) => {
  const { stream, url } = await startStream(t);
  stream.publish(table([], [], 'v'));
  for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789abcdef' }, { authorization: TOKEN }]) {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, STREAM_SUBPROTOCOL, { headers });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('connected without the token')));
      ws.on('error', () => {});
    });
    assert.equal(status, 401);
  }
  assert.equal(stream.sentCounts.refused, 3);
});

test('a proxy reconnects after the stream goes away and resyncs to the newest version', async (t) => {
  const a = await startEcho('a');
  t.after(() => a.close());
  const first = await startStream(t);
  first.stream.publish(table([route('r1', '/', ['be'])], [backend('be', [a.port])], 'before'));
  const port = Number(new URL(first.url).port);
  const { gateway } = await startProxy(t, first.url, 'p');
  await eventually(async () => gateway.version() === 'before', 'serves the first table');
  await first.stream.close();
  // Controller gone: the proxy still serves.
  assert.equal((await send(gateway.port, '/')).status, 200);
  const fleet = new FleetTracker();
  const second = new SnapshotStream({ port, host: '127.0.0.1', token: StreamToken.fromValue(TOKEN), fleet, logger: quiet });
  await second.listen();
  t.after(() => second.close());
  second.publish(table([route('r1', '/', ['be']), route('r2', '/new', ['be'])], [backend('be', [a.port])], 'after'));
  await eventually(async () => gateway.version() === 'after', 'resynced after the restart', 15_000);
});

test('the fleet size reaches every proxy on connect and on change (a Global limit fallback divides by it)', async (t) => {
  const { stream, url } = await startStream(t);
  const fleetProxies = (gateway: Gateway): Promise<number> => gateway.metrics.registry.getSingleMetric('gatehouse_rate_limit_fleet_proxies')!.get().then((m) => m.values[0]?.value ?? -1);
  const a = await startProxy(t, url, 'proxy-a');
  await eventually(async () => (await fleetProxies(a.gateway)) === 1, 'a proxy counts itself alone before the controller says otherwise');
  stream.setFleetSize(2);
  await eventually(async () => (await fleetProxies(a.gateway)) === 2, 'the connected proxy learns the new size');
  const b = await startProxy(t, url, 'proxy-b');
  await eventually(async () => (await fleetProxies(b.gateway)) === 2, 'a proxy connecting later gets the size with its hello');
  stream.setFleetSize(3);
  await eventually(async () => (await fleetProxies(a.gateway)) === 3 && (await fleetProxies(b.gateway)) === 3, 'both learn the change');
});

// A proxy killed (SIGKILL) while it writes its table file, at every step of a write, then restarted with no
// controller, serves a table it was sent, whole: the version it reports is one the controller published, and its
// routes are exactly that version's (the route each later version added answers 404, each earlier one 200).
//
// Two ways of killing: (1) at chosen steps, by the proxy itself (GATEHOUSE_TABLE_FILE_FAULT=<step>, a test-only hook
// in proxy/subscribe: half a journal record written, a snapshot half written, a snapshot written but not renamed, a
// snapshot renamed before its journal restarts, a compaction done before its journal rewrite); (2) from outside, right
// after the proxy ACKed a version picked at random while newer deltas and full tables are still arriving.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { FleetTracker } from '../../controller/distribute/fleet-tracker.ts';
import type { SnapshotStream } from '../../controller/distribute/snapshot-stream.ts';
import { routingTableSchema, type RoutingTable, type TableRoute } from '../../proxy/table/table-schema.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';
import { startEcho } from '../e2e/helpers/upstreams.ts';
import { eventually, waitFor } from '../support/wait-for.ts';
import { getThrough, metricValue, startProxyProcess, type ProxyProcess } from './proxy-process.ts';
import { startStream, TOKEN } from './stream-fixture.ts';

const BASE_ROUTES = 1500;
const HOST = 'crash.example.com';

/** Version k: the base routes (600 of them moved when `big`: more than a delta carries, so a full table) plus /k0../k<k>. */
function versionTable(k: number, port: number, big = false): RoutingTable {
  const routes: TableRoute[] = Array.from({ length: BASE_ROUTES }, (_, i) => route(`base${i}`, big && i < 600 ? `/moved${i}` : `/base${i}`, ['be'], { hosts: [`b${i % 40}.example.com`] }));
  for (let j = 0; j <= k; j++) routes.push(route(`k${j}`, `/k${j}`, ['be'], { hosts: [HOST] }));
  return routingTableSchema.parse(table(routes, [backend('be', [port])], `v${k}${big ? '-big' : ''}`));
}

const kOf = (version: string): number => Number(/^v(\d+)/.exec(version)?.[1]);

async function servedVersion(p: ProxyProcess): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${p.adminPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return /^gatehouse_table_info\{version="([^"]+)"\} 1$/m.exec(await res.text())?.[1];
}

interface Rig {
  stream: SnapshotStream;
  fleet: FleetTracker;
  url: string;
  dir: string;
  port: number;
  published: Set<string>;
}

async function rig(t: TestContext): Promise<Rig> {
  const echo = await startEcho('crash');
  t.after(() => echo.close());
  const { stream, fleet, url } = await startStream(t);
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-crash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'token'), TOKEN, { mode: 0o600 });
  return { stream, fleet, url, dir, port: echo.port, published: new Set() };
}

function publish(r: Rig, t: RoutingTable): void {
  r.published.add(t.version);
  r.stream.publish(t);
}

async function start(t: TestContext, r: Rig, name: string, opts: { controller?: boolean; fault?: string } = {}): Promise<ProxyProcess> {
  // No controller: a port nothing listens on (the proxy keeps retrying, serving its file meanwhile).
  const url = opts.controller === false ? 'ws://127.0.0.1:9' : r.url;
  const p = await startProxyProcess(name, ['--controller', url, '--token-file', join(r.dir, 'token'), '--table-file', join(r.dir, 'table.json')], 60_000, opts.fault ? { GATEHOUSE_TABLE_FILE_FAULT: opts.fault } : undefined);
  t.after(() => p.stop(true));
  return p;
}

const acked = (r: Rig, name: string, version: string): boolean => r.fleet.list().some((p) => p.name === name && p.version === version);

/** Restarted with no controller: serves a version that was published, and exactly its routes. Returns it. */
async function assertServesLastGood(t: TestContext, r: Rig, name: string): Promise<string> {
  const p = await start(t, r, name, { controller: false });
  const version = await waitFor('the restarted proxy reports its version', () => servedVersion(p));
  assert.ok(r.published.has(version), `serves ${version}, which was published (${[...r.published].join(' ')})`);
  const k = kOf(version);
  assert.equal((await getThrough(p.port, HOST, `/k${k}`)).status, 200, `/k${k} (added by ${version}) answers`);
  assert.equal((await getThrough(p.port, HOST, `/k${k + 1}`)).status, 404, `/k${k + 1} (not in ${version}) does not`);
  const big = version.endsWith('-big');
  assert.equal((await getThrough(p.port, 'b0.example.com', big ? '/moved0' : '/base0')).status, 200);
  // The load is a whole-table apply: its longest event-loop stall is reported like a resync's.
  await waitFor('the load reported as an applied table change', async () => ((await metricValue(p.adminPort, 'gatehouse_table_apply_stall_max_seconds_count')) >= 1 ? true : undefined));
  // …and as a whole-table apply, which later small changes do not overwrite.
  assert.ok((await metricValue(p.adminPort, 'gatehouse_table_whole_apply_cpu_seconds')) > 0, 'the whole-table gauges are set');
  assert.equal((await getThrough(p.port, 'b0.example.com', big ? '/base0' : '/moved0')).status, 404);
  await p.stop(true);
  return version;
}

/** A proxy (no fault) that has the table file at version `k` (a full table, then a delta), then killed. */
async function establish(t: TestContext, r: Rig, k: number): Promise<void> {
  const p = await start(t, r, 'setup');
  publish(r, versionTable(k - 1, r.port));
  await eventually(() => acked(r, 'setup', `v${k - 1}`), `setup serves v${k - 1}`);
  publish(r, versionTable(k, r.port));
  await eventually(() => acked(r, 'setup', `v${k}`), `setup serves v${k}`);
  // SIGTERM: the table file is flushed on the way out.
  await p.stop();
}

async function killedAt(t: TestContext, r: Rig, fault: string, drive: (name: string) => Promise<void>): Promise<void> {
  const p = await start(t, r, fault, { fault });
  await drive(fault);
  await eventually(() => p.exited() === 'SIGKILL', `the proxy kills itself at ${fault}`);
}

test('killed mid-append to the journal: the table before that delta is served, and that delta was never ACKed', async (t) => {
  const r = await rig(t);
  await establish(t, r, 1);
  // Every ACK and disconnect the controller side sees, in the order it sees them (one socket: a message sent before
  // the kill is handled before its close).
  const seen: string[] = [];
  let killedId = -1;
  const { hello, ack, gone } = r.fleet;
  r.fleet.hello = (id, name, remote, version) => ((killedId = name === 'journal-mid-append' ? id : killedId), hello.call(r.fleet, id, name, remote, version));
  r.fleet.ack = (id, version) => (seen.push(`ack ${version}`), ack.call(r.fleet, id, version));
  r.fleet.gone = (id) => (seen.push(`gone ${id}`), gone.call(r.fleet, id));
  await killedAt(t, r, 'journal-mid-append', async () => publish(r, versionTable(2, r.port)));
  await eventually(() => seen.includes(`gone ${killedId}`), 'the killed proxy is seen gone');
  assert.ok(!seen.includes('ack v2'), `v2 is not ACKed when its write never finished (${seen.join(', ')})`);
  assert.equal(await assertServesLastGood(t, r, 'after'), 'v1');
});

for (const [fault, expected] of [
  ['snapshot-mid-write', 'v1'],
  ['snapshot-before-rename', 'v1'],
  ['after-snapshot-rename', 'v2-big'],
] as const) {
  test(`killed while writing a full table's snapshot (${fault}): ${expected} is served`, async (t) => {
    const r = await rig(t);
    await establish(t, r, 1);
    // More routes changed than a delta carries: the proxy gets the whole table and writes a snapshot of it.
    await killedAt(t, r, fault, async () => publish(r, versionTable(2, r.port, true)));
    assert.equal(await assertServesLastGood(t, r, 'after'), expected);
  });
}

test('killed after a compaction wrote its snapshot, before the journal was rewritten: the newest table is served', async (t) => {
  const r = await rig(t);
  await establish(t, r, 1);
  // 256 journal records trigger a compaction; each version is waited for, so each is one delta and one record.
  const p = await start(t, r, 'compaction-before-swap', { fault: 'compaction-before-swap' });
  let k = 1;
  while (p.exited() === null && k < 400) {
    k++;
    publish(r, versionTable(k, r.port));
    const version = `v${k}`;
    await eventually(() => acked(r, 'compaction-before-swap', version) || p.exited() !== null, `v${k} applied`, 30_000, 5);
  }
  await eventually(() => p.exited() === 'SIGKILL', 'the proxy kills itself once the compaction is done');
  const served = await assertServesLastGood(t, r, 'after');
  assert.ok(kOf(served) >= 257, `serves ${served}: at least the compacted version`);
});

test('killed from outside at random moments while deltas and full tables arrive: always a published table, whole', async (t) => {
  const r = await rig(t);
  // A last-good table on disk first, so every restart has something to serve whatever the kill interrupted.
  await establish(t, r, 1);
  let k = 1;
  // The random moments are seeded (printed), so a failure can be replayed.
  let seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
  t.diagnostic(`CRASH_SEED=${seed}`);
  const random = (n: number): number => {
    seed = (seed * 16807) % 2147483647;
    return seed % n;
  };
  for (let round = 0; round < 6; round++) {
    const name = `round${round}`;
    const p = await start(t, r, name);
    // A burst of versions, some of them full tables; the kill comes right after a random one of them is ACKed.
    let ackedBeforeKill = '';
    const burst: RoutingTable[] = [];
    for (let i = 0; i < 8; i++) burst.push(versionTable(++k, r.port, random(4) === 0));
    const killAfter = random(burst.length);
    for (let i = 0; i < burst.length; i++) {
      publish(r, burst[i] as RoutingTable);
      if (i === killAfter) {
        const version = (burst[i] as RoutingTable).version;
        await eventually(() => acked(r, name, version), `${name} applies ${version}`, 30_000, 2);
        ackedBeforeKill = version;
        // Later versions keep coming while it dies.
        for (const later of burst.slice(i + 1, i + 3)) publish(r, later);
        await p.stop(true);
        break;
      }
      if (random(2) === 0) await eventually(() => acked(r, name, (burst[i] as RoutingTable).version), `${name} applies it`, 30_000, 2);
    }
    const served = await assertServesLastGood(t, r, `${name}-after`);
    // An ACK is sent once its version is on disk: what was ACKed survives the kill.
    assert.ok(kOf(served) >= kOf(ackedBeforeKill), `serves ${served} after ${ackedBeforeKill} was ACKed`);
    t.diagnostic(`round ${round}: killed after v${k - burst.length + killAfter + 1}, restarted serving ${served}`);
  }
});

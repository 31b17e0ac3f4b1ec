// The table file (snapshot + journal): what a proxy loads after a crash at any point is a table it applied, every file
// is mode 0600, torn and corrupt records end the replay at the last good one, a missing journal leaves the snapshot,
// an interrupted rename leaves the old file, and a compaction (in a worker thread) keeps the same table.
import { strict as assert } from 'node:assert';
import { chmod, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { asEndpointUpdate, tableDelta } from '../../controller/distribute/table-delta.ts';
import { journalPathOf, loadTableFile, TableFile } from '../../proxy/subscribe/table-file.ts';
import { tableLines, writeSnapshot } from '../../proxy/subscribe/table-snapshot.ts';
import type { DeltaMessage } from '../../proxy/table/stream-protocol.ts';
import { routingTableSchema, type RoutingTable, type TableRoute } from '../../proxy/table/table-schema.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';
import { testCertificate } from '../support/test-certificates.ts';

const numbered = (i: number, path = `/r${i}`): TableRoute => route(`r${i}`, path, ['be'], { hosts: [`h${i % 7}.example.com`] });
const make = (routes: TableRoute[], version: string, port = 9): RoutingTable => routingTableSchema.parse(table(routes, [backend('be', [port]), backend('other', [8])], version));

/** v0 (40 routes), then v1..vN: each a route added, changed or removed, every fourth an endpoint-only change. */
function versions(n: number): RoutingTable[] {
  let routes = Array.from({ length: 40 }, (_, i) => numbered(i));
  let port = 9;
  const out = [make(routes, 'v0', port)];
  for (let k = 1; k <= n; k++) {
    if (k % 4 === 0) port++;
    else if (k % 4 === 1) routes = [...routes.slice(0, 5), numbered(100 + k), ...routes.slice(5)];
    else if (k % 4 === 2) routes = routes.map((r, i) => (i === 10 ? numbered(Number(r.id.slice(1)), `/changed${k}`) : r));
    else routes = routes.filter((_, i) => i !== 20);
    out.push(make(routes, `v${k}`, port));
  }
  return out;
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-table-file-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes v0 as a snapshot and every later version as a journal record, as the subscription does. */
async function writeAll(file: TableFile, tables: RoutingTable[]): Promise<void> {
  await file.recordTable(tables[0] as RoutingTable);
  for (let k = 1; k < tables.length; k++) {
    const delta = tableDelta(tables[k - 1] as RoutingTable, tables[k] as RoutingTable) as DeltaMessage;
    assert.ok(delta, `a delta for v${k}`);
    const change = asEndpointUpdate(tables[k - 1] as RoutingTable, delta) ?? delta;
    await file.recordChange(change, () => assert.fail('never needs the whole table'));
  }
  await file.idle();
}

async function loadedVersion(path: string): Promise<{ version: string; json: string; stopped?: string; clean: boolean }> {
  const loaded = await loadTableFile(path);
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.error);
  return { version: loaded.table.version, json: JSON.stringify(routingTableSchema.parse(loaded.table)), clean: loaded.replay.clean, ...(loaded.replay.stopped !== undefined && { stopped: loaded.replay.stopped }) };
}

/** Byte offsets where each journal record starts (record = u32 length, u32 crc, payload). */
async function recordStarts(path: string): Promise<number[]> {
  const bytes = await readFile(journalPathOf(path));
  const starts: number[] = [];
  for (let at = 0; at < bytes.length; at += 8 + bytes.readUInt32LE(at)) starts.push(at);
  return starts;
}

test('deltas and endpoint updates are journal records; loading replays them to the last table, files mode 0600', async (t) => {
  const path = join(await tempDir(t), 'table.json');
  const tables = versions(12);
  const file = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await writeAll(file, tables);
  await file.close();
  const loaded = await loadedVersion(path);
  assert.equal(loaded.version, 'v12');
  assert.equal(loaded.json, JSON.stringify(tables[12]));
  assert.ok(loaded.clean);
  assert.equal((await recordStarts(path)).length, 13, 'a header and 12 records');
  // The snapshot is still v0: no change rewrote it.
  assert.ok((await readFile(path, 'utf8')).startsWith('{"gatehouseTableSnapshot":1,"schema":4,"version":"v0"}\n'));
  for (const p of [path, journalPathOf(path)]) assert.equal((await stat(p)).mode & 0o777, 0o600, p);
});

test('a torn last record (crash mid-append) is dropped: the table before it loads, and appends resume after the cut', async (t) => {
  const path = join(await tempDir(t), 'table.json');
  const tables = versions(6);
  const file = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await writeAll(file, tables);
  await file.close();
  const size = (await stat(journalPathOf(path))).size;
  const last = (await recordStarts(path)).at(-1) as number;
  for (const cut of [last + 3, last + 8, last + Math.floor((size - last) / 2), size - 1]) {
    await truncate(journalPathOf(path), cut);
    const loaded = await loadedVersion(path);
    assert.equal(loaded.version, 'v5', `cut at ${cut}`);
    assert.match(loaded.stopped ?? '', /cut short/);
    assert.ok(loaded.clean, 'a torn tail does not need a rewrite');
  }
  // Resumed: the torn bytes are cut off and v6 is appended after v5.
  const again = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await again.resume(await loadTableFile(path));
  await again.recordChange(tableDelta(tables[5] as RoutingTable, tables[6] as RoutingTable) as DeltaMessage, () => undefined);
  await again.close();
  const after = await loadedVersion(path);
  assert.equal(after.version, 'v6');
  assert.equal(after.stopped, undefined);
  assert.equal(after.json, JSON.stringify(tables[6]));
});

test('a record whose checksum fails ends the replay at the record before it', async (t) => {
  const path = join(await tempDir(t), 'table.json');
  const tables = versions(8);
  const file = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await writeAll(file, tables);
  await file.close();
  const starts = await recordStarts(path);
  const bytes = await readFile(journalPathOf(path));
  const at = (starts[4] as number) + 20; // inside record 4's payload (v4)
  bytes[at] = (bytes[at] as number) ^ 0x20;
  await writeFile(journalPathOf(path), bytes);
  const loaded = await loadedVersion(path);
  assert.equal(loaded.version, 'v3');
  assert.equal(loaded.json, JSON.stringify(tables[3]));
  assert.match(loaded.stopped ?? '', /checksum/);
  // A length field garbled to something huge is caught as well.
  bytes.writeUInt32LE(0xfffffff0, starts[2] as number);
  await writeFile(journalPathOf(path), bytes);
  assert.equal((await loadedVersion(path)).version, 'v1');
});

test('without its journal the snapshot loads alone; the next writer starts a fresh journal from the served table', async (t) => {
  const path = join(await tempDir(t), 'table.json');
  const tables = versions(4);
  const file = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await writeAll(file, tables);
  await file.close();
  await rm(journalPathOf(path));
  const loaded = await loadTableFile(path);
  assert.ok(loaded.ok);
  assert.equal(loaded.table.version, 'v0');
  assert.equal(loaded.replay.clean, false);
  const again = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await again.resume(loaded);
  await again.recordChange(tableDelta(tables[0] as RoutingTable, tables[1] as RoutingTable) as DeltaMessage, () => undefined);
  await again.close();
  assert.equal((await loadedVersion(path)).version, 'v1');
  assert.equal((await stat(journalPathOf(path))).mode & 0o777, 0o600);
});

test('a snapshot write cut off before its rename leaves the old table; the temp file is removed by the next writer', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'table.json');
  const tables = versions(2);
  const file = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await writeAll(file, tables);
  await file.close();
  // What a crash mid-write leaves: half a snapshot of another table in a temp file beside the real one.
  const half = Buffer.concat([...tableLines(make([numbered(1)], 'other'))].flat());
  await writeFile(join(dir, '.table.json.0123456789ab.tmp'), half.subarray(0, half.length >> 1), { mode: 0o600 });
  assert.equal((await loadedVersion(path)).version, 'v2');
  const again = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await again.resume(await loadTableFile(path));
  await again.recordTable(tables[0] as RoutingTable);
  await again.close();
  assert.deepEqual((await readdir(dir)).sort(), ['table.json', 'table.json.journal']);
});

test('a snapshot cut short or garbled is refused with a reason, not loaded half', async (t) => {
  const path = join(await tempDir(t), 'table.json');
  await writeSnapshot(path, tableLines(versions(0)[0] as RoutingTable));
  const whole = await readFile(path);
  await writeFile(path, whole.subarray(0, whole.length - 30));
  const cut = await loadTableFile(path);
  assert.ok(!cut.ok && /not a whole table snapshot/.test(cut.error), cut.ok ? '' : cut.error);
  const garbled = Buffer.from(whole);
  garbled[200] = (garbled[200] as number) ^ 0x01;
  await writeFile(path, garbled);
  const bad = await loadTableFile(path);
  assert.ok(!bad.ok);
});

test('the older format (the table as one JSON document) still loads, and is rewritten as a snapshot', async (t) => {
  const path = join(await tempDir(t), 'table.json');
  const v0 = versions(0)[0] as RoutingTable;
  await writeFile(path, JSON.stringify(v0), { mode: 0o600 });
  const loaded = await loadTableFile(path);
  assert.ok(loaded.ok && loaded.table.version === 'v0' && !loaded.replay.clean);
  const file = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await file.resume(loaded);
  await file.close();
  assert.ok((await readFile(path, 'utf8')).startsWith('{"gatehouseTableSnapshot":1,'));
  assert.equal((await loadedVersion(path)).json, JSON.stringify(v0));
});

test('compaction in a worker thread folds the journal into the snapshot; a crash before the journal rewrite still loads the newest table', async (t) => {
  const path = join(await tempDir(t), 'table.json');
  const tables = versions(23);
  const file = new TableFile(path, { onError: (err) => assert.fail(String(err)), compactAfterRecords: 5 });
  await writeAll(file, tables);
  await file.close();
  assert.ok(file.compactions >= 1, `compactions: ${file.compactions}`);
  const loaded = await loadedVersion(path);
  assert.equal(loaded.json, JSON.stringify(tables[23]));
  assert.ok(loaded.clean);
  assert.ok((await recordStarts(path)).length <= 6, 'the journal holds only what came after the last compaction');
  assert.notEqual((await readFile(path, 'utf8')).slice(0, 80), '{"gatehouseTableSnapshot":1,"schema":4,"version":"v0"}');

  // The state a crash between a compaction's snapshot rename and its journal rewrite leaves: a newer snapshot (v20)
  // and a journal that starts before it. Records are skipped up to v20 and the rest replayed.
  const path2 = join(await tempDir(t), 'table.json');
  const plain = new TableFile(path2, { onError: (err) => assert.fail(String(err)), compactAfterRecords: 1000 });
  await writeAll(plain, tables);
  await plain.close();
  await writeSnapshot(path2, tableLines(tables[20] as RoutingTable));
  const after = await loadTableFile(path2);
  assert.ok(after.ok);
  assert.equal(after.table.version, 'v23');
  assert.equal(after.replay.skipped, 20);
  assert.equal(after.replay.applied, 3);
  assert.equal(after.replay.clean, false, 'the next writer rewrites it');
});

test('a change that does not follow on from the file (a table it never saw) writes the whole table instead', async (t) => {
  const path = join(await tempDir(t), 'table.json');
  const tables = versions(3);
  const file = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await file.recordTable(tables[0] as RoutingTable);
  await file.recordChange(tableDelta(tables[1] as RoutingTable, tables[2] as RoutingTable) as DeltaMessage, () => tables[2]);
  await file.close();
  const loaded = await loadedVersion(path);
  assert.equal(loaded.version, 'v2');
  assert.ok((await readFile(path, 'utf8')).startsWith('{"gatehouseTableSnapshot":1,"schema":4,"version":"v2"}'));
});

const pair = testCertificate('/CN=api.example.com', ['DNS:api.example.com']);
const tlsTable = (version: string): RoutingTable =>
  routingTableSchema.parse(
    table([route('r', '/r', ['be'], { hosts: ['api.example.com'] })], [backend('be', [1])], version, [], [], {
      certificates: [{ id: 'default/api-cert', certPem: pair.certPem, keyPem: pair.keyPem }],
      tlsHosts: [{ id: 'api.example.com', certificate: 'default/api-cert' }],
    }),
  );

test('written with mode 0600, replacing world-readable files, and read back as the same table (its key included)', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'table.json');
  await writeFile(path, '{}');
  await chmod(path, 0o644);
  await writeFile(journalPathOf(path), '');
  await chmod(journalPathOf(path), 0o644);
  const file = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await file.recordTable(tlsTable('v1'));
  await file.close();
  for (const p of [path, journalPathOf(path)]) assert.equal((await stat(p)).mode & 0o777, 0o600, p);
  assert.ok((await readFile(path, 'utf8')).includes(JSON.stringify(pair.keyPem)), 'the key is in the file (the proxy serves it after a restart)');
  const loaded = await loadTableFile(path);
  assert.ok(loaded.ok);
  assert.deepEqual(loaded.table, tlsTable('v1'));
  assert.deepEqual((await readdir(dir)).sort(), ['table.json', 'table.json.journal'], 'no temp file left behind');
});

test('a journal left world-readable is made 0600 when a proxy carries on appending to it', async (t) => {
  const path = join(await tempDir(t), 'table.json');
  const first = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  await first.recordTable(tlsTable('v1'));
  await first.close();
  await chmod(journalPathOf(path), 0o644);
  const again = new TableFile(path, { onError: (err) => assert.fail(String(err)) });
  const loaded = await loadTableFile(path);
  assert.ok(loaded.ok && loaded.replay.clean);
  await again.resume(loaded);
  await again.close();
  assert.equal((await stat(journalPathOf(path))).mode & 0o777, 0o600);
});

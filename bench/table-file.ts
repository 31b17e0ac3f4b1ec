// The proxy's table file at size: what one change costs to persist (a journal append) next to a whole snapshot, what
// a compaction costs the event loop (it runs in a worker thread) and what loading costs at start. Each row gives wall
// time and the longest event-loop stall (monitorEventLoopDelay, 1 ms resolution) while it ran.
//
//   node bench/table-file.ts [--routes 50000] [--changes 300]
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { tableDelta } from '../controller/distribute/table-delta.ts';
import { journalPathOf, loadTableFile, TableFile } from '../proxy/subscribe/table-file.ts';
import type { DeltaMessage } from '../proxy/table/stream-protocol.ts';
import { routingTableSchema, tableRouteSchema, type RoutingTable, type TableRoute } from '../proxy/table/table-schema.ts';
import { backend, route, table } from '../test/e2e/helpers/tables.ts';
import { percentile, round1 } from './percentiles.ts';

const { values } = parseArgs({ options: { routes: { type: 'string' }, changes: { type: 'string' } } });
const ROUTES = Number(values.routes ?? 50_000);
const CHANGES = Number(values.changes ?? 300);

const numbered = (i: number): TableRoute => route(`bench/r${i}/r0/m0`, `/r${i}`, ['be'], { hosts: [`api-${Math.floor(i / 3)}.bench.example.com`] });
const make = (routes: TableRoute[], version: string): RoutingTable => routingTableSchema.parse(table(routes, [backend('be', [9])], version));

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number; stallMs: number; cpuMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const value = await run();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  return { value, ms: round1(ms), stallMs: round1(h.max / 1e6), cpuMs: round1((used.user + used.system) / 1000) };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-table-file-bench-'));
  const path = join(dir, 'table.json');
  let current = make(Array.from({ length: ROUTES }, (_, i) => numbered(i)), 'v0');
  const file = new TableFile(path, {
    onError: (err) => {
      throw err;
    },
  });
  const snapshot = await timed(() => file.recordTable(current));
  const snapshotBytes = (await stat(path)).size;
  const appends: Array<{ ms: number; stallMs: number }> = [];
  let compaction: { ms: number; stallMs: number; rssBeforeMB: number; peakRssMB: number } | undefined;
  for (let k = 1; k <= CHANGES; k++) {
    // Built as the proxy's apply builds it: the same route objects, one new (parsed) route.
    const routes = [...current.routes.slice(0, 100), tableRouteSchema.parse(numbered(ROUTES + k)), ...current.routes.slice(100)];
    const next: RoutingTable = { ...current, version: `v${k}`, routes };
    const delta = tableDelta(current, next) as DeltaMessage;
    const before = file.compactions;
    appends.push(await timed(() => file.recordChange(delta, () => next)));
    // The append that started a compaction: measure until it (and its journal rewrite) is done.
    if (compaction === undefined) {
      // The worker's memory is the process's too: sample RSS while it runs.
      let peak = process.memoryUsage().rss;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      const rssBefore = peak;
      const c = await timed(() => file.idle());
      clearInterval(sampler);
      if (file.compactions > before) compaction = { ...c, rssBeforeMB: Math.round(rssBefore / 1e6), peakRssMB: Math.round(peak / 1e6) };
    }
    current = next;
  }
  await file.close();
  const journalBytes = (await stat(journalPathOf(path))).size;
  const load = await timed(() => loadTableFile(path));
  if (!load.value.ok || load.value.table.version !== current.version) throw new Error('loaded the wrong table');
  await rm(dir, { recursive: true, force: true });
  const ms = appends.map((a) => a.ms).sort((a, b) => a - b);
  const stalls = appends.map((a) => a.stallMs).sort((a, b) => a - b);
  const report = {
    routes: ROUTES,
    snapshot: { bytes: snapshotBytes, ms: snapshot.ms, cpuMs: snapshot.cpuMs, maxStallMs: snapshot.stallMs },
    deltaAppend: { n: appends.length, p50Ms: round1(percentile(ms, 50)), p99Ms: round1(percentile(ms, 99)), stallP50Ms: round1(percentile(stalls, 50)), stallMaxMs: round1(Math.max(...stalls)) },
    compaction: compaction && { ms: compaction.ms, mainThreadMaxStallMs: compaction.stallMs, rssBeforeMB: compaction.rssBeforeMB, peakRssMB: compaction.peakRssMB },
    load: { journalBytes, journalRecords: load.value.replay.applied, ms: load.ms, cpuMs: load.cpuMs, maxStallMs: load.stallMs },
    rssMB: Math.round(process.memoryUsage().rss / 1e6),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

void main();

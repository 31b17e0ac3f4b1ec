// One proxy's cost of a table change at ~10k routes, in isolation (one process, no controller, no other proxies):
// the whole table as the stream delivers it (gunzip, parse and validate each part, sliced build) versus a one-route
// delta (parse, validate, incremental build), each followed by writing the table file as a proxy does. Apply time (to
// the swap), its CPU time, and the longest event-loop stall (monitorEventLoopDelay) until the file is written.
// --hostless: no route has hosts, so all of them share the router's one any-host bucket (a third each exact, template
// and prefix; templates half with a static lead of their own, half in groups of ~10 sharing one).
//
//   node bench/fleet-proxy-apply.ts [--routes 10000] [--changes 30] [--hostless] [--samples (each delta's start, apply, CPU and stall ms)]
//     [--deltas-only (no whole tables in between: their garbage makes major GCs land in later deltas' windows)]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { tableDelta } from '../controller/distribute/table-delta.ts';
import { encodeTable } from '../controller/distribute/table-encoding.ts';
import { startGateway } from '../proxy/server/start-gateway.ts';
import { TableAssembler } from '../proxy/subscribe/table-assembler.ts';
import { TableFile } from '../proxy/subscribe/table-file.ts';
import { decodeFrame, encodeText } from '../proxy/table/stream-frames.ts';
import { controllerMessage, type DeltaMessage } from '../proxy/table/stream-protocol.ts';
import { routingTableSchema, type RoutingTable, type TableRoute } from '../proxy/table/table-schema.ts';
import { backend, route, table } from '../test/e2e/helpers/tables.ts';
import { percentile, round1 } from './percentiles.ts';

const { values } = parseArgs({ options: { routes: { type: 'string' }, changes: { type: 'string' }, hostless: { type: 'boolean' }, samples: { type: 'boolean' }, 'deltas-only': { type: 'boolean' } } });
const ROUTES = Number(values.routes ?? 10_000);
const CHANGES = Number(values.changes ?? 30);
const pct = (xs: number[], p: number): number => percentile([...xs].sort((a, b) => a - b), p);

const HOSTLESS = values.hostless === true;

const numbered = (i: number): TableRoute => (HOSTLESS ? hostless(i) : route(`bench/r${i}/r0/m0`, `/r${i}`, ['be'], { hosts: [`api-${Math.floor(i / 3)}.bench.example.com`] }));

function hostless(i: number): TableRoute {
  const id = `bench/r${i}/r0/m0`;
  if (i % 3 === 0) return route(id, '/', ['be'], { path: { type: 'exact', value: `/r${i}` } });
  if (i % 3 === 2) return route(id, `/p${i}/`, ['be']);
  const value = i % 2 === 0 ? `/t${i}/{id}` : `/svc-${Math.floor(i / 60)}/{id}/t${i}`;
  return route(id, '/', ['be'], { path: { type: 'template', value } });
}
const make = (routes: TableRoute[], version: string): RoutingTable => routingTableSchema.parse(table(routes, [backend('be', [9])], version));

interface Sample {
  /** performance.now() at the start: lines up with --trace-gc's times. */
  at: number;
  ms: number;
  cpuMs: number;
  stallMs: number;
}

async function measure(run: () => Promise<void>, persist: () => Promise<void>): Promise<Sample> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // The histogram's first tick only sets its reference point: the stretch until the loop first turns is timed here
  // (as the proxy's ApplyStallWindow does), else a change done in one synchronous piece would show no stall at all.
  let firstStretchMs = 0;
  setImmediate(() => (firstStretchMs = performance.now() - t0));
  await run();
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  await persist();
  // One more timer turn, so the histogram sees the last synchronous stretch.
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  return { at: t0, ms, cpuMs: (cpu.user + cpu.system) / 1000, stallMs: Math.max(h.max / 1e6, firstStretchMs) };
}

async function main(): Promise<void> {
  const gateway = await startGateway({ port: 0, adminPort: 0, logger: pino({ level: 'silent' }) });
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-apply-bench-'));
  const file = new TableFile(join(dir, 'table.json'), {
    onError: (err) => {
      throw err;
    },
  });
  const persistTable = async (): Promise<void> => file.recordTable(gateway.table() as RoutingTable);
  const routes = Array.from({ length: ROUTES }, (_, i) => numbered(i));
  let current = make(routes, 'v0');
  const full: Sample[] = [];
  const delta: Sample[] = [];
  // The parts are encoded before the clock starts: encoding is the controller's work, not the proxy's.
  const applyFull = async (parts: Buffer[]): Promise<void> => {
    const assembler = new TableAssembler();
    for (const part of parts) {
      const m = controllerMessage.parse(await decodeFrame(part, true));
      if (m.type !== 'table-part') throw new Error('not a part');
      const r = assembler.add(m);
      if (r.kind === 'complete') {
        const applied = await gateway.applyTableSliced(r.table);
        if (!applied.ok) throw new Error(applied.error);
      }
    }
  };
  const partsOf = async (t: RoutingTable): Promise<Buffer[]> => (await encodeTable(t)).parts;
  await applyFull(await partsOf(current));
  for (let k = 0; k < CHANGES; k++) {
    const next = make([...current.routes, numbered(ROUTES + k)], `v${k + 1}`);
    const frame = encodeText(tableDelta(current, next));
    if (k % 5 === 0 && values['deltas-only'] !== true) {
      // Every fifth change also measured as a whole table, from the same base.
      const [nextParts, baseParts] = [await partsOf(next), await partsOf(current)];
      full.push(await measure(() => applyFull(nextParts), persistTable));
      await applyFull(baseParts);
      await persistTable(); // the file back at the base too, so the delta below is appended to its journal
    }
    let message: DeltaMessage | undefined;
    delta.push(
      await measure(
        async () => {
          const m = controllerMessage.parse(await decodeFrame(Buffer.from(frame), false));
          if (m.type !== 'delta') throw new Error('not a delta');
          const applied = await gateway.applyDelta(m);
          if (!applied.ok) throw new Error(applied.error);
          message = m;
        },
        async () => file.recordChange(message as DeltaMessage, () => gateway.table()),
      ),
    );
    current = next;
  }
  await file.close();
  await gateway.close();
  await rm(dir, { recursive: true, force: true });
  const row = (xs: Sample[]) => ({
    n: xs.length,
    applyP50Ms: round1(pct(xs.map((x) => x.ms), 50)),
    applyP99Ms: round1(pct(xs.map((x) => x.ms), 99)),
    cpuP50Ms: round1(pct(xs.map((x) => x.cpuMs), 50)),
    stallP50Ms: round1(pct(xs.map((x) => x.stallMs), 50)),
    stallP99Ms: round1(pct(xs.map((x) => x.stallMs), 99)),
    stallMaxMs: round1(Math.max(...xs.map((x) => x.stallMs))),
  });
  const samples = values.samples === true ? { deltaSamples: delta.map((x) => [Math.round(x.at), round1(x.ms), round1(x.cpuMs), round1(x.stallMs)]) } : {};
  process.stdout.write(`${JSON.stringify({ routes: ROUTES, hostless: HOSTLESS, delta: row(delta), fullTable: row(full), ...samples }, null, 2)}\n`);
}

void main();

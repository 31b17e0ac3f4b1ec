// Fleet propagation: time from an API write (a new ApiRoute) to the last of 10 `gatehouse proxy` processes serving
// it (each proxy polled through its traffic port), with ~100, 1k and 10k routes in the table; and the longest
// event-loop stall a proxy saw while receiving and applying each change (its gatehouse_table_apply_stall_seconds).
//
//   node bench/fleet-propagation.ts [--changes 50] [--sizes 100,1000,10000] [--proxies 10] [--with-50k]
//
// --with-50k adds a ~50k-route size after the others (it takes minutes: the fill alone is ~17k ApiRoutes).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from '../test/kube/control-plane.ts';
import { adminGet, startController, type ControllerProcess } from '../test/kube/controller-process.ts';
import { startEcho } from '../test/e2e/helpers/upstreams.ts';
import { getThrough, metricValue, metricValues, startProxyProcess, type ProxyProcess } from '../test/fleet/proxy-process.ts';
import { percentile, round1 } from './percentiles.ts';
import { writeResultFiles } from './results-file.ts';
import { BENCH_NAMESPACE, createBenchApiRoutes, setupBenchCluster } from './controller-fixtures.ts';
import { freePort } from './ports.ts';
import { waitFor } from '../test/support/wait-for.ts';

const { values } = parseArgs({ options: { changes: { type: 'string' }, sizes: { type: 'string' }, proxies: { type: 'string' }, 'with-50k': { type: 'boolean' }, help: { type: 'boolean' } } });
if (values.help) {
  process.stdout.write('node bench/fleet-propagation.ts [--changes 50] [--sizes 100,1000,10000] [--proxies 10] [--with-50k]\n  --with-50k  add a ~50k-route size (opt-in: minutes of filling)\n');
  process.exit(0);
}
const CHANGES = Number(values.changes ?? 50);
const SIZES = [...(values.sizes ?? '100,1000,10000').split(',').map(Number), ...(values['with-50k'] ? [50_000] : [])];
const PROXIES = Number(values.proxies ?? 10);
const ROUTES_PER_API_ROUTE = 3;
const TOKEN = 'fleet-bench-token-0123456789abcdef';

const say = (msg: string): void => void process.stderr.write(`[fleet-bench] ${msg}\n`);


interface Fleet {
  version: string | null;
  proxies: Array<{ name: string; current: boolean }>;
}

async function fleetOf(c: ControllerProcess): Promise<Fleet | undefined> {
  const r = await adminGet(c.adminPort, '/debug/fleet');
  return r.status === 200 ? (JSON.parse(r.body) as Fleet) : undefined;
}

/**
 * Garbage collections on the proxies by kind (prom-client's nodejs_gc_duration_seconds_count). Counts only: the
 * durations V8 reports for major GCs include their concurrent phases, not just the time the event loop was held.
 */
async function gcCounts(proxies: readonly ProxyProcess[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of proxies) {
    const text = await (await fetch(`http://127.0.0.1:${p.adminPort}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    for (const m of text.matchAll(/^nodejs_gc_duration_seconds_count\{kind="(\w+)"\} (\d+)/gm)) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Each proxy's resident set (VmRSS, MB) right after a size's changes: what one proxy costs at that table size. */
async function proxyRssMb(proxies: readonly ProxyProcess[]): Promise<number[]> {
  return Promise.all(proxies.map(async (p) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024)));
}

async function updateCounts(proxies: readonly ProxyProcess[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const kind of ['full', 'delta', 'endpoints']) {
    counts[kind] = 0;
    for (const p of proxies) counts[kind] += await metricValue(p.adminPort, `gatehouse_table_updates_total{kind="${kind}"}`);
  }
  return counts;
}

/** One more ApiRoute of its own host (`<name>.bench.example.com`), one rule to the echo upstream. */
function extraApiRoute(name: string, echoPort: number): Record<string, unknown> {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiRoute',
    metadata: { name, namespace: BENCH_NAMESPACE },
    spec: { hosts: [`${name}.bench.example.com`], rules: [{ matches: [{ path: { type: 'Prefix', value: '/' } }], backends: [{ url: `http://127.0.0.1:${echoPort}` }] }] },
  };
}

/** Versions the controller keeps as delta bases (controller/distribute/snapshot-stream.ts): a proxy further behind gets the whole table. */
const KEPT_DELTA_BASES = 4;

/**
 * The whole-table applies at this size, on an 11th proxy, each one window read from the proxy's own whole-table
 * gauges (later small changes do not overwrite them):
 * - join: the whole table from the stream, serving nothing before;
 * - load: restarted after the fleet moved on by more versions than the controller keeps as delta bases, it serves
 *   its table file (loaded before the controller is asked);
 * - resync: the controller then sends it the whole current table, applied while it serves the old one.
 * `make` creates one ApiRoute per call (a new table version each).
 */
async function wholeTableStalls(controller: ControllerProcess, name: string, streamPort: number, dir: string, make: () => Promise<void>): Promise<Record<string, number>> {
  const args = ['--controller', `ws://127.0.0.1:${streamPort}`, '--token-file', join(dir, 'token'), '--table-file', join(dir, `${name}.json`)];
  // One scrape for the gauges and the count of whole tables applied: read apart, the stall could be read before the
  // window reported and the CPU after (a 0 ms stall), or the load's reading after the resync replaced it.
  const whole = async (p: ProxyProcess): Promise<{ stallMs: number; cpuMs: number; full: number }> => {
    const [stall, cpu, full] = await metricValues(p.adminPort, ['gatehouse_table_whole_apply_stall_seconds', 'gatehouse_table_whole_apply_cpu_seconds', 'gatehouse_table_updates_total{kind="full"}']);
    return { stallMs: round1((stall as number) * 1000), cpuMs: round1((cpu as number) * 1000), full: full as number };
  };
  const current = async (): Promise<true | undefined> => ((await fleetOf(controller))?.proxies.find((x) => x.name === name)?.current ? true : undefined);
  let p = await startProxyProcess(name, args, 60_000);
  try {
    await waitFor(`${name} on the current table`, current, 600_000, 200);
    const join = await waitFor(`${name}'s join window`, async () => { const w = await whole(p); return w.cpuMs > 0 ? w : undefined; }, 600_000, 50);
    await p.stop();
    // Past the delta bases the controller keeps, so the restarted proxy can only be brought up to date whole.
    for (let k = 0; k <= KEPT_DELTA_BASES; k++) await make();
    p = await startProxyProcess(name, args, 600_000);
    // The load's window closes before the proxy connects; the resync's whole table is applied a second or more later.
    const load = await waitFor(`${name}'s load window`, async () => { const w = await whole(p); return w.full >= 2 || (w.full === 1 && w.cpuMs > 0) ? w : undefined; }, 600_000, 50);
    const loadSeen = load.full === 1;
    await waitFor(`${name} resynced`, async () => ((await whole(p)).full >= 2 && (await current()) ? true : undefined), 600_000, 50);
    // The resync's window closes once its table file is written: a reading other than the load's (or, had the load's
    // been missed, one taken after the write had time to finish).
    if (!loadSeen) await new Promise((r) => setTimeout(r, 3000));
    const resync = await waitFor(`${name}'s resync window`, async () => { const w = await whole(p); return !loadSeen || w.cpuMs !== load.cpuMs || w.stallMs !== load.stallMs ? w : undefined; }, 60_000, 50);
    return { joinStallMs: join.stallMs, joinCpuMs: join.cpuMs, loadStallMs: loadSeen ? load.stallMs : Number.NaN, loadCpuMs: loadSeen ? load.cpuMs : Number.NaN, resyncStallMs: resync.stallMs, resyncCpuMs: resync.cpuMs };
  } finally {
    await p.stop(true);
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-fleet-bench-'));
  await writeFile(join(dir, 'token'), TOKEN, { mode: 0o600 });
  const echo = await startEcho('bench');
  say('starting the control plane');
  const cp = await startControlPlane();
  let controller: ControllerProcess | undefined;
  const proxies: ProxyProcess[] = [];
  try {
    const { api } = await setupBenchCluster(cp);

    const streamPort = await freePort();
    controller = await startController(cp.kubeconfigPath, ['--lease-duration', '3s', '--stream-port', String(streamPort), '--stream-host', '127.0.0.1', '--stream-token-file', join(dir, 'token')], 60_000);
    for (let i = 0; i < PROXIES; i++) {
      proxies.push(await startProxyProcess(`bench-${i}`, ['--controller', `ws://127.0.0.1:${streamPort}`, '--token-file', join(dir, 'token'), '--table-file', join(dir, `p${i}.json`)], 60_000));
    }

    const results: Record<string, unknown>[] = [];
    let existing = 0;
    let extra = 0;
    const createExtra = (name: string): Promise<unknown> =>
      api.createNamespacedCustomObject({ group: 'gatehouse.dev', version: 'v1alpha1', namespace: BENCH_NAMESPACE, plural: 'apiroutes', body: extraApiRoute(name, echo.port) });
    for (const size of SIZES) {
      const target = Math.ceil(size / ROUTES_PER_API_ROUTE);
      say(`filling to ${target} ApiRoutes (~${target * ROUTES_PER_API_ROUTE} routes)`);
      await createBenchApiRoutes(api, existing, target, 16);
      existing = target;
      await waitFor('every proxy on the full table', async () => {
        const f = await fleetOf(controller!);
        return f && f.proxies.length === PROXIES && f.proxies.every((p) => p.current) ? f : undefined;
      }, 600_000, 1000);
      // Let the fill's status writes and the proxies' last applies settle before measuring.
      await new Promise((r) => setTimeout(r, 3000));

      say(`measuring ${CHANGES} changes at ~${(existing + extra) * ROUTES_PER_API_ROUTE} routes`);
      const latencies: number[] = [];
      const stalls: number[] = [];
      const cpu: number[] = [];
      const timeline: Array<{ createMs: number; firstMs: number; lastMs: number }> = [];
      const updatesBefore = await updateCounts(proxies);
      const gcBefore = await gcCounts(proxies);
      for (let k = 0; k < CHANGES; k++) {
        const name = `extra-${extra++}`;
        const host = `${name}.bench.example.com`;
        const windowsBefore = await Promise.all(proxies.map((p) => metricValue(p.adminPort, 'gatehouse_table_apply_stall_max_seconds_count')));
        const pending = new Set(proxies);
        const t0 = performance.now();
        await createExtra(name);
        const created = performance.now();
        let first: number | undefined;
        let last = t0;
        const deadline = t0 + 60_000;
        while (pending.size > 0) {
          if (performance.now() > deadline) throw new Error(`${name}: ${pending.size} proxies still not serving after 60 s`);
          await Promise.all(
            [...pending].map(async (p) => {
              if ((await getThrough(p.port, host, '/')).status === 200) {
                pending.delete(p);
                last = performance.now();
                first ??= last;
              }
            }),
          );
          if (pending.size > 0) await new Promise((r) => setTimeout(r, 5));
        }
        latencies.push(last - t0);
        // Where the time went, per change: the API call itself, then the first and the last proxy serving.
        timeline.push({ createMs: round1(created - t0), firstMs: round1((first ?? last) - t0), lastMs: round1(last - t0) });
        // Each proxy's stall gauge describes its last change once that change's window (to the table file written) closed.
        for (const [i, p] of proxies.entries()) {
          await waitFor(`${p.name}'s stall window for ${name}`, async () => ((await metricValue(p.adminPort, 'gatehouse_table_apply_stall_max_seconds_count')) > (windowsBefore[i] as number) ? true : undefined), 10_000, 10);
          stalls.push((await metricValue(p.adminPort, 'gatehouse_table_apply_stall_seconds')) * 1000);
          cpu.push((await metricValue(p.adminPort, 'gatehouse_table_apply_cpu_seconds')) * 1000);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const stallSorted = [...stalls].sort((a, b) => a - b);
      const row = {
        tableRoutes: existing * ROUTES_PER_API_ROUTE + extra,
        apiRoutes: existing + extra,
        proxies: PROXIES,
        changes: CHANGES,
        p50Ms: round1(percentile(sorted, 50)),
        p99Ms: round1(percentile(sorted, 99)),
        maxMs: round1(sorted.at(-1) ?? Number.NaN),
        stallP50Ms: round1(percentile(stallSorted, 50)),
        stallP99Ms: round1(percentile(stallSorted, 99)),
        stallMaxMs: round1(stallSorted.at(-1) ?? Number.NaN),
        // How the proxies took the changes: whole tables (a resync) cost far more than deltas.
        // CPU time a proxy used per change (all its threads): a stall well above it was spent waiting for a CPU.
        applyCpuP50Ms: round1(percentile([...cpu].sort((a, b) => a - b), 50)),
        applyCpuP99Ms: round1(percentile([...cpu].sort((a, b) => a - b), 99)),
        slowest: [...timeline].sort((a, b) => b.lastMs - a.lastMs).slice(0, 3),
        proxyGcs: Object.fromEntries(Object.entries(await gcCounts(proxies)).map(([k, v]) => [k, v - (gcBefore[k] ?? 0)])),
        proxyRssMb: await proxyRssMb(proxies).then((xs) => ({ min: Math.min(...xs), max: Math.max(...xs) })),
        proxyUpdates: Object.fromEntries(Object.entries(await updateCounts(proxies)).map(([k, v]) => [k, v - (updatesBefore[k] ?? 0)])),
      };
      const make = async (): Promise<void> => {
        const name = `extra-${extra++}`;
        await createExtra(name);
        await waitFor(`every proxy serving ${name}`, async () => ((await Promise.all(proxies.map((p) => getThrough(p.port, `${name}.bench.example.com`, '/')))).every((r) => r.status === 200) ? true : undefined), 60_000, 20);
      };
      const whole = await wholeTableStalls(controller, `join-${size}`, streamPort, dir, make);
      say(JSON.stringify({ ...row, ...whole }));
      results.push({ ...row, ...whole });
    }
    const largest = results.at(-1) as { p99Ms: number; stallP99Ms: number } | undefined;
    const report = {
      benchmark: 'fleet-propagation',
      date: startedAt.toISOString(),
      environment: { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, kernel: release(), node: process.version },
      method: `real kube-apiserver, one gatehouse controller process, ${PROXIES} gatehouse proxy processes on one machine; clock from just before the API create to the last proxy answering 200 for the new route's host (each polled every ~5 ms); stall = each proxy's longest event-loop delay (monitorEventLoopDelay, 1 ms resolution) from the arrival of a change's first message until the applied table is written to its file; join/load/resync = an extra proxy's longest stall (its whole-table gauges) receiving the whole table from the stream, then, restarted after the fleet moved on past the kept delta bases, loading its table file and then receiving the whole current table while serving the old one`,
      sizes: results,
      targets: { p99MsAt10k: 1000, stallP99Ms: 50, at50k: { p99Ms: 1000, stallP99Ms: 50, applyCpuP50Ms: 10 } },
      pass: largest === undefined ? null : { p99: largest.p99Ms < 1000, stall: largest.stallP99Ms < 50 },
    };
    const { text } = writeResultFiles(join(import.meta.dirname, 'results'), 'fleet', 'fleet-latest.json', report, startedAt);
    process.stdout.write(text);
  } finally {
    await Promise.allSettled(proxies.map((p) => p.stop(true)));
    await controller?.stop();
    await cp.stop();
    await echo.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`fleet bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

// Controller propagation: time from an API write (create or update of an ApiRoute) to the compiled table that
// contains it, with 100, 1k and 10k ApiRoutes in a real API server; and the controller's RSS at 10k.
//
//   node bench/controller-propagation.ts [--writes 60] [--sizes 100,1000,10000]
//
// Latency is measured in process: the controller runs here (the same runController the CLI runs, leader
// election and status writes included) and its after-compile hook looks for the written route; the clock
// starts just before the API call is made. RSS is measured on a separate `gatehouse controller` child process
// once it has compiled all 10k routes, so this process's own objects are not counted.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, release, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { pino } from 'pino';
import { runController, type CompiledState } from '../controller/controller-main.ts';
import { startControlPlane } from '../test/kube/control-plane.ts';
import { adminGet, startController } from '../test/kube/controller-process.ts';
import { percentile, round1 } from './percentiles.ts';
import { freePort } from './ports.ts';
import { writeResultFiles } from './results-file.ts';
import { BENCH_NAMESPACE, benchApiRoute, createBenchApiRoutes, setupBenchCluster } from './controller-fixtures.ts';
import { ensureControllerHeapFlags } from '../cli/commands/controller-heap-flags.ts';
import { waitFor } from '../test/support/wait-for.ts';

// The in-process controller below is timed with the heap settings `gatehouse controller` gives itself.
ensureControllerHeapFlags();

const { values } = parseArgs({ options: { writes: { type: 'string' }, sizes: { type: 'string' } } });
const WRITES = Number(values.writes ?? 60);
const SIZES = (values.sizes ?? '100,1000,10000').split(',').map(Number);
const ROUTES_PER_API_ROUTE = 3;

const say = (msg: string): void => void process.stderr.write(`[controller-bench] ${msg}\n`);



/** Resolves with the time (performance.now) of the first compile whose table satisfies `check`. */
class TableWatcher {
  #waiting: { check: (s: CompiledState) => boolean; resolve: (at: number) => void } | undefined;
  compileMs: number[] = [];
  latest: CompiledState | undefined;

  onCompiled(state: CompiledState): void {
    this.latest = state;
    this.compileMs.push(state.compileMs);
    const w = this.#waiting;
    if (w && w.check(state)) {
      this.#waiting = undefined;
      w.resolve(performance.now());
    }
  }

  until(check: (s: CompiledState) => boolean, timeoutMs: number): Promise<number> {
    if (this.latest && check(this.latest)) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the table')), timeoutMs);
      this.#waiting = {
        check,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
    });
  }
}

const routeById = (s: CompiledState, id: string) => s.table.routes.find((r) => r.id === id);
const markerOf = (s: CompiledState, i: number): string | undefined =>
  routeById(s, `${BENCH_NAMESPACE}/route-${i}/r1/m0`)?.requestHeaders.set.find(([name]) => name === 'x-bench-marker')?.[1];

async function main(): Promise<void> {
  const startedAt = new Date();
  say('starting the control plane');
  const cp = await startControlPlane();
  const child: { stop?: () => Promise<void> } = {};
  let controller: Awaited<ReturnType<typeof runController>> | undefined;
  try {
    const { kc, api } = await setupBenchCluster(cp);

    const results: Record<string, unknown>[] = [];
    let existing = 0;
    let extra = 0;
    for (const size of SIZES) {
      // Filled while no controller runs, so the fill is not slowed by compiles; a fresh controller per size.
      say(`filling to ${size} ApiRoutes`);
      const fillStart = Date.now();
      await createBenchApiRoutes(api, existing, size, 24);
      existing = size;
      const fillMs = Date.now() - fillStart;
      const tableRoutes = (size + extra) * ROUTES_PER_API_ROUTE;
      const watcher = new TableWatcher();
      const startMs = Date.now();
      controller = await runController({
        kubeConfig: kc,
        logger: pino({ level: 'warn' }),
        adminHost: '127.0.0.1',
        adminPort: 0,
        lease: { namespace: 'default', name: 'gatehouse-bench', identity: `bench-${size}`, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 400 },
        onCompiled: (state) => watcher.onCompiled(state),
      });
      await watcher.until((s) => s.table.routes.length === tableRoutes, 300_000);
      const startToFullTableMs = Date.now() - startMs;
      // The new leader writes every status once; measure after that settles.
      await waitFor('status writes settled', async () => (await controller?.statusIdleFor(2000)) || undefined, 300_000, 500);
      watcher.compileMs = [];

      say(`measuring ${WRITES} writes at ${size}`);
      const latencies: number[] = [];
      const kinds = { create: [] as number[], update: [] as number[] };
      for (let k = 0; k < WRITES; k++) {
        let ms: number;
        if (k % 2 === 0) {
          const name = `extra-${extra++}`;
          const body = benchApiRoute(0);
          (body['metadata'] as Record<string, unknown>)['name'] = name;
          (body['spec'] as Record<string, unknown>)['hosts'] = [`${name}.bench.example.com`];
          const id = `${BENCH_NAMESPACE}/${name}/r0/m0`;
          const t0 = performance.now();
          const seen = watcher.until((s) => routeById(s, id) !== undefined, 30_000);
          await api.createNamespacedCustomObject({ group: 'gatehouse.dev', version: 'v1alpha1', namespace: BENCH_NAMESPACE, plural: 'apiroutes', body });
          ms = (await seen) - t0;
          kinds.create.push(ms);
        } else {
          const i = (k * 7919) % size;
          const marker = `m-${size}-${k}`;
          const t0 = performance.now();
          const seen = watcher.until((s) => markerOf(s, i) === marker, 30_000);
          await api.patchNamespacedCustomObject(
            {
              group: 'gatehouse.dev',
              version: 'v1alpha1',
              namespace: BENCH_NAMESPACE,
              plural: 'apiroutes',
              name: `route-${i}`,
              body: { spec: (benchApiRoute(i, marker) as { spec: unknown }).spec },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
          ms = (await seen) - t0;
          kinds.update.push(ms);
        }
        latencies.push(ms);
        await new Promise((r) => setTimeout(r, 20 + (k % 5) * 10));
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const compile = [...watcher.compileMs].sort((a, b) => a - b);
      const row = {
        apiRoutes: size + extra,
        tableRoutes: watcher.latest?.table.routes.length,
        fillMs,
        startToFullTableMs,
        writes: WRITES,
        p50Ms: round1(percentile(sorted, 50)),
        p99Ms: round1(percentile(sorted, 99)),
        maxMs: round1(sorted.at(-1) ?? Number.NaN),
        createP50Ms: round1(percentile([...kinds.create].sort((a, b) => a - b), 50)),
        updateP50Ms: round1(percentile([...kinds.update].sort((a, b) => a - b), 50)),
        compileP50Ms: round1(percentile(compile, 50)),
        compileP99Ms: round1(percentile(compile, 99)),
        compiles: compile.length,
      };
      say(JSON.stringify(row));
      results.push(row);
      await controller.close();
      controller = undefined;
    }

    // RSS of the real CLI on the full cluster: as shipped, and with the old-generation heap capped (what a
    // container memory limit would suggest: NODE_OPTIONS=--max-old-space-size=N).
    const total = (existing + extra) * ROUTES_PER_API_ROUTE;
    const measureRss = async (label: string, env: NodeJS.ProcessEnv, extraArgs: string[] = [], expectPatches = 0): Promise<Record<string, unknown>> => {
      say(`RSS (${label}): starting \`gatehouse controller\` as a child process`);
      const proc = await startController(cp.kubeconfigPath, ['--lease-name', `gatehouse-rss-${label}`, '--identity', `rss-${label}`, ...extraArgs], 60_000, env);
      child.stop = proc.stop;
      try {
        const startMs = Date.now();
        // Polled on the metrics: cheap for the child, unlike /debug/table.
        const full = new RegExp(`^gatehouse_controller_table_routes ${total}$`, 'm');
        await waitFor('child compiled everything', async () => (full.test((await adminGet(proc.adminPort, '/metrics')).body) ? true : undefined), 300_000, 2000);
        const startToFullTableMs = Date.now() - startMs;
        let statusWriteMs: number | undefined;
        if (expectPatches > 0) {
          // One patch per ApiRoute: every status written once.
          const patches = /^gatehouse_controller_status_patches_total (\d+)$/m;
          await waitFor('child wrote every status', async () => (Number(patches.exec((await adminGet(proc.adminPort, '/metrics')).body)?.[1] ?? 0) >= expectPatches ? true : undefined), 600_000, 500);
          statusWriteMs = Date.now() - startMs;
        }
        // A few writes after the start, as in steady use, then read the resident set.
        for (let k = 0; k < 10; k++) {
          const i = (k * 104729) % existing;
          await api.patchNamespacedCustomObject(
            { group: 'gatehouse.dev', version: 'v1alpha1', namespace: BENCH_NAMESPACE, plural: 'apiroutes', name: `route-${i}`, body: { spec: (benchApiRoute(i, `rss-${label}-${k}`) as { spec: unknown }).spec } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
          await new Promise((r) => setTimeout(r, 300));
        }
        await new Promise((r) => setTimeout(r, 3000));
        const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
        const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
        const row = { label, nodeOptions: env['NODE_OPTIONS'] ?? '', apiRoutes: existing + extra, rssMB: Math.round(kb('VmRSS') / 1024), peakRssMB: Math.round(kb('VmHWM') / 1024), startToFullTableMs, ...(statusWriteMs !== undefined && { statusWriteMs }) };
        say(JSON.stringify(row));
        return row;
      } finally {
        await proc.stop();
      }
    };
    // The third as in production: the proxy stream on, so this leader adds Programmed to every status and writes all
    // of them, as a fresh install or a status-less cluster would (the in-process controller above ran without it).
    const tokenDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-token-'));
    writeFileSync(join(tokenDir, 'token'), 'controller-bench-stream-token-0123456789', { mode: 0o600 });
    const streamArgs = ['--stream-port', String(await freePort()), '--stream-host', '127.0.0.1', '--stream-token-file', join(tokenDir, 'token')];
    const rssRows = [
      await measureRss('default', {}),
      await measureRss('heap-capped', { NODE_OPTIONS: '--max-old-space-size=256' }),
      await measureRss('stream-on-writing-every-status', {}, streamArgs, existing + extra),
    ];
    rmSync(tokenDir, { recursive: true, force: true });

    const largest = results.at(-1) as { p99Ms: number } | undefined;
    const report = {
      benchmark: 'controller-propagation',
      date: startedAt.toISOString(),
      environment: { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, kernel: release(), node: process.version },
      method:
        'in-process runController (leader, status writes on); clock from just before the API call to the after-compile hook seeing the route; half creates, half merge-patch updates; coalescing 50 ms quiet / 250 ms max',
      sizes: results,
      rss: rssRows,
      targets: { p99MsAt10k: 300, rssMB: 400 },
      pass: { p99: largest !== undefined && largest.p99Ms < 300, rss: rssRows.every((r) => (r as { rssMB: number }).rssMB < 400) },
    };
    const { text } = writeResultFiles(join(import.meta.dirname, 'results'), 'controller', 'controller-latest.json', report, startedAt);
    process.stdout.write(text);
  } finally {
    await controller?.close();
    await child.stop?.();
    await cp.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`controller bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

// Idle `gatehouse proxy` memory by table size: for each size, a table file of fleet-shaped routes (the controller
// bench's ApiRoutes, three rules each, compiled by the real compiler and written by the proxy's own table-file
// writer), then real `gatehouse proxy` processes started on it as shipped (default flags, so the heap flags the
// proxy gives itself apply) with no reachable controller. Once a proxy serves the table's last route, it is left
// alone for --settle-ms and its resident set (VmRSS from /proc) and V8 heap (its own /metrics) are read.
//
//   node bench/proxy-memory.ts [--routes 1,10000,20000,50000] [--runs 2] [--settle-ms 3000] [--variants source,compiled] [--entry FILE]
//
// Two variants by default, measured in turn for each run: `source` (cli/gatehouse.ts through Node's type stripping,
// as `npm start` and the tests run it) and `compiled` (the JavaScript tsconfig.build.json emits, built once into a
// temporary folder: what the container image runs). --entry measures one other build of the CLI instead.
//
// Every proxy is stopped by pid before the next starts (they would share the 2 cores otherwise).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compile } from '../controller/compile/compile.ts';
import type { RawResource } from '../controller/compile/compile-types.ts';
import { toEndpointSliceInfo, toServiceInfo } from '../controller/sources/kube-object-converters.ts';
import { TableFile } from '../proxy/subscribe/table-file.ts';
import type { RoutingTable } from '../proxy/table/table-schema.ts';
import { getThrough, startProxyProcess, type ProxyProcess } from '../test/fleet/proxy-process.ts';
import { buildCompiled, type CompiledBuild } from '../test/support/compiled-build.ts';
import { waitFor } from '../test/support/wait-for.ts';
import { freePort } from './ports.ts';
import { BENCH_NAMESPACE, benchApiRoute, benchEndpointSlice, benchService } from './controller-fixtures.ts';

const { values } = parseArgs({
  options: { routes: { type: 'string' }, runs: { type: 'string' }, 'settle-ms': { type: 'string' }, variants: { type: 'string' }, entry: { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help) {
  process.stdout.write('node bench/proxy-memory.ts [--routes 1,10000,20000,50000] [--runs 2] [--settle-ms 3000] [--variants source,compiled] [--entry FILE]\n');
  process.exit(0);
}
const VARIANTS = values.entry !== undefined ? [values.entry] : (values.variants ?? 'source,compiled').split(',');
for (const v of VARIANTS) if (values.entry === undefined && v !== 'source' && v !== 'compiled') throw new Error(`--variants: ${v} is neither source nor compiled`);
const SIZES = (values.routes ?? '1,10000,20000,50000').split(',').map(Number);
const RUNS = Number(values.runs ?? 2);
const SETTLE_MS = Number(values['settle-ms'] ?? 3000);
const say = (msg: string): void => void process.stderr.write(`[proxy-memory] ${msg}\n`);

/** `routes` table routes: ceil(routes / 3) bench ApiRoutes compiled, cut to `routes`. */
function fleetTable(routes: number, closedPort: number): RoutingTable {
  const svc = toServiceInfo(benchService(), BENCH_NAMESPACE);
  const slice = toEndpointSliceInfo(benchEndpointSlice(), BENCH_NAMESPACE);
  if (!svc.ok || !slice.ok) throw new Error('bench fixtures do not convert');
  const resources: RawResource[] = Array.from({ length: Math.ceil(routes / 3) }, (_, i) => {
    const object = benchApiRoute(i) as { metadata: Record<string, unknown> };
    object.metadata = { ...object.metadata, uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`, generation: 1, resourceVersion: String(1000 + i) };
    return { kind: 'ApiRoute', namespace: BENCH_NAMESPACE, name: `route-${i}`, object };
  });
  const { table } = compile({ resources, services: [svc.value], endpointSlices: [slice.value] });
  // Endpoints on a loopback port nothing listens on: a request through the proxy is refused at once (502), which
  // tells "serving the route" from "no route" (404) without a backend.
  const backends = table.backends.map((b) => ({ ...b, endpoints: [{ host: '127.0.0.1', port: closedPort }] }));
  return { ...table, backends, routes: table.routes.slice(0, routes) };
}

async function rssMb(pid: number): Promise<number> {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
  return Math.round(kb / 1024);
}

async function heapMb(adminPort: number): Promise<{ used: number; total: number }> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const value = (name: string): number => Math.round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 1e5) / 10;
  return { used: value('nodejs_heap_size_used_bytes'), total: value('nodejs_heap_size_total_bytes') };
}

interface Sample {
  variant: string;
  routes: number;
  run: number;
  rssMB: number;
  heapUsedMB: number;
  heapTotalMB: number;
  startMs: number;
}

async function measure(variant: string, entry: string | undefined, path: string, tokenFile: string, table: RoutingTable, run: number): Promise<Sample> {
  const last = table.routes.at(-1);
  const host = last?.hosts[0] ?? 'api-0.bench.example.com';
  const t0 = performance.now();
  let proxy: ProxyProcess | undefined;
  try {
    // Port 1 on loopback: nothing listens there, so the proxy serves its file and keeps retrying the controller.
    proxy = await startProxyProcess(`mem-${table.routes.length}-${run}`, ['--controller', 'ws://127.0.0.1:1', '--token-file', tokenFile, '--table-file', path], 120_000, undefined, entry);
    const p = proxy;
    // Serving: the table's last route answers (502: its endpoint refuses), not the proxy's own "no route" 404.
    await waitFor('the proxy serving its table file', async () => ((await getThrough(p.port, host, '/items')).status === 502 ? true : undefined), 300_000, 100);
    const startMs = Math.round(performance.now() - t0);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const rssMB = await rssMb(p.pid);
    const heap = await heapMb(p.adminPort);
    return { variant, routes: table.routes.length, run, rssMB, heapUsedMB: heap.used, heapTotalMB: heap.total, startMs };
  } finally {
    await proxy?.stop();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-proxy-memory-'));
  const samples: Sample[] = [];
  const closedPort = await freePort();
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'proxy-memory-bench-token-0123456789', { mode: 0o600 });
  let compiled: CompiledBuild | undefined;
  try {
    if (VARIANTS.includes('compiled')) {
      compiled = await buildCompiled();
      say(`compiled the runtime code in ${compiled.emitMs} ms (${compiled.dir})`);
    }
    const entryOf = (variant: string): string | undefined => (variant === 'source' ? undefined : variant === 'compiled' ? compiled?.entry : variant);
    for (const size of SIZES) {
      const path = join(dir, `table-${size}.json`);
      const table = fleetTable(size, closedPort);
      const file = new TableFile(path, {
        onError: (err) => {
          throw err;
        },
      });
      await file.recordTable(table);
      await file.close();
      // Variants alternate within a run, so drift on a shared machine falls on both alike.
      for (let run = 1; run <= RUNS; run++) {
        for (const variant of VARIANTS) {
          const s = await measure(variant, entryOf(variant), path, tokenFile, table, run);
          say(`${variant}, ${s.routes} routes, run ${run}: RSS ${s.rssMB} MB, heap used ${s.heapUsedMB} / total ${s.heapTotalMB} MB (serving after ${s.startMs} ms)`);
          samples.push(s);
        }
      }
    }
  } finally {
    compiled?.remove();
    await rm(dir, { recursive: true, force: true });
  }
  // Per variant and size: the median RSS of its runs (the mean of the middle two when even).
  const summary = VARIANTS.flatMap((variant) =>
    SIZES.map((size) => {
      const rss = samples.filter((s) => s.variant === variant && s.routes === size).map((s) => s.rssMB).sort((a, b) => a - b);
      const mid = rss.length >> 1;
      return { variant, routes: size, rssMB: rss.length % 2 === 1 ? rss[mid] : ((rss[mid - 1] ?? 0) + (rss[mid] ?? 0)) / 2 };
    }),
  );
  for (const row of summary) say(`${row.variant} ${row.routes} routes: RSS ${row.rssMB} MB`);
  const report = { node: process.version, variants: VARIANTS, settleMs: SETTLE_MS, summary, samples };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

void main();

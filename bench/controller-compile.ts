// The controller's compile in isolation: 10k ApiRoutes (30k table routes) compiled once with a CompileCache, then
// one change at a time (half updates of an existing route, half new routes), as the kube source would hand them in
// (same objects for everything unchanged). No API server, so the numbers are far less affected by machine load
// than bench/controller-propagation.ts. Reports compile time per change and the heap it keeps.
//
//   node --expose-gc bench/controller-compile.ts [--routes 10000] [--changes 200]
import { parseArgs } from 'node:util';
import { compile } from '../controller/compile/compile.ts';
import { CompileCache } from '../controller/compile/compile-cache.ts';
import type { RawResource } from '../controller/compile/compile-types.ts';
import { toEndpointSliceInfo, toServiceInfo } from '../controller/sources/kube-object-converters.ts';
import { BENCH_NAMESPACE, benchApiRoute, benchEndpointSlice, benchService } from './controller-fixtures.ts';

const { values } = parseArgs({ options: { routes: { type: 'string' }, changes: { type: 'string' } } });
const ROUTES = Number(values.routes ?? 10_000);
const CHANGES = Number(values.changes ?? 200);

function apiRoute(i: number, name: string, marker: string, generation: number): RawResource {
  const object = benchApiRoute(i, marker) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  object.metadata = {
    ...object.metadata,
    name,
    uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    generation,
    resourceVersion: String(1000 + i),
    creationTimestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  };
  if (name !== `route-${i}`) object.spec['hosts'] = [`${name}.bench.example.com`];
  return { kind: 'ApiRoute', namespace: BENCH_NAMESPACE, name, object };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapMB = (): number => {
  gc?.();
  return Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
};

const svc = toServiceInfo(benchService(), BENCH_NAMESPACE);
const slice = toEndpointSliceInfo(benchEndpointSlice(), BENCH_NAMESPACE);
if (!svc.ok || !slice.ok) throw new Error('bench fixtures do not convert');
const resources = Array.from({ length: ROUTES }, (_, i) => apiRoute(i, `route-${i}`, 'v0', 1));
const heapBefore = heapMB();
const cache = new CompileCache();
const started = performance.now();
let out = compile({ resources, services: [svc.value], endpointSlices: [slice.value], cache });
const coldMs = performance.now() - started;
const times: number[] = [];
for (let k = 0; k < CHANGES; k++) {
  if (k % 2 === 0) resources.push(apiRoute(ROUTES + k, `extra-${k}`, 'v0', 1));
  else {
    const i = (k * 7919) % ROUTES;
    resources[i] = apiRoute(i, `route-${i}`, `m-${k}`, k + 1);
  }
  const t0 = performance.now();
  out = compile({ resources: [...resources], services: [svc.value], endpointSlices: [slice.value], lastAccepted: out.accepted, cache });
  times.push(performance.now() - t0);
}
const sorted = [...times].sort((a, b) => a - b);
const round = (n: number): number => Math.round(n * 10) / 10;
process.stdout.write(
  `${JSON.stringify({
    apiRoutes: resources.length,
    tableRoutes: out.table.routes.length,
    coldMs: round(coldMs),
    changes: CHANGES,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
    heapInputsMB: heapBefore,
    heapRetainedMB: heapMB(),
    rssMB: Math.round(process.memoryUsage().rss / 1e6),
    gcExposed: gc !== undefined,
  })}\n`,
);

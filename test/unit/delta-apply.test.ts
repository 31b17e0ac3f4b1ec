// A table delta applied to a runtime gives the same runtime as building the new table from scratch: the same table
// bytes, the same route for every probe request (or the same 404/405), every route sending to the current target of
// its backends, and the same pools kept. Random sequences of changes (seeded, so a failure reproduces) made of route
// removals, changes (path, host, methods, backends, connect timeout) and insertions anywhere, backend setting changes,
// additions and removals, each turned into a delta by the controller's own tableDelta.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tableDelta } from '../../controller/distribute/table-delta.ts';
import { buildRuntime } from '../../proxy/runtime/build-runtime.ts';
import { applyDelta } from '../../proxy/runtime/delta-apply.ts';
import type { BackendTarget } from '../../proxy/runtime/backend-target.ts';
import type { Runtime } from '../../proxy/runtime/runtime-types.ts';
import { TimeSlicer } from '../../proxy/runtime/time-slicer.ts';
import type { MatchInput } from '../../proxy/router/route-index-types.ts';
import { TABLE_SCHEMA_VERSION, routingTableSchema, type RoutingTable, type TableBackend, type TableRoute } from '../../proxy/table/table-schema.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';
import { prng } from '../support/seeded-random.ts';

const NO_CHANGE = { removed: [], changed: [], added: [] };


const HOSTS = [['a.example.com'], ['b.example.com'], ['*.example.com'], ['*.b.example.com'], [], ['a.example.com', 'c.example.com']];
/** Many exact hosts, so the router's versioned host map outgrows its overlay and is compacted along the way. */
const MANY_HOSTS = [...HOSTS, ...Array.from({ length: 150 }, (_, i) => [`h${i}.example.com`])];
const METHODS = [[], ['GET'], ['POST'], ['GET', 'PUT']];
const PATHS = ['/x', '/x/y', '/items', '/items/7', '/'];

function randomRouteOf(rand: () => number, id: string, backends: readonly string[], hosts: readonly string[][] = HOSTS): TableRoute {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const kind = rand();
  const path: TableRoute['path'] =
    kind < 0.4 ? { type: 'prefix', value: pick(PATHS) } : kind < 0.7 ? { type: 'exact', value: pick(PATHS) } : { type: 'template', value: pick(['/items/{id}', '/x/{a}', '/{p+}']) };
  const to: string[] = rand() < 0.2 ? [pick(backends), pick(backends)] : [pick(backends)];
  return route(id, '/', [...new Set(to)], {
    hosts: pick(hosts),
    path,
    methods: pick(METHODS),
    timeouts: { connectMs: rand() < 0.3 ? 2_000 : 1_000, requestMs: 10_000, idleMs: 5_000 },
  });
}

function probes(): MatchInput[] {
  const out: MatchInput[] = [];
  for (const host of ['a.example.com', 'b.example.com', 'c.example.com', 'z.b.example.com', 'q.example.com', 'other.test', 'h3.example.com', 'h77.example.com', 'h149.example.com']) {
    for (const path of ['/x', '/x/y', '/x/z', '/items', '/items/7', '/items/8/9', '/', '/nope']) {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE']) out.push({ host, method, path, query: '', headers: {} });
    }
  }
  return out;
}

function describeMatch(runtime: Runtime, input: MatchInput): string {
  const m = runtime.index.match(input);
  if (m.kind === 'route') return `route ${m.route.id} ${JSON.stringify(m.params)}`;
  if (m.kind === 'method-not-allowed') return `405 ${m.allow.join(',')}`;
  return '404';
}

/** Each route's targets, as "backend|connectMs", checked to be the runtime's current target objects. */
function routeTargets(runtime: Runtime): Map<string, string[]> {
  const current = new Set<BackendTarget>();
  for (const list of runtime.backendTargets.values()) for (const t of list) current.add(t.target);
  const out = new Map<string, string[]>();
  for (const [id, rr] of runtime.routes) {
    const seen = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const target = rr.primary.pick() as BackendTarget;
      assert.ok(current.has(target), `route ${id} sends to a target the runtime no longer lists`);
      assert.ok(rr.route.timeouts.connectMs > 0);
      seen.add(`${target.id}|${rr.route.timeouts.connectMs}|${target.pathPrefix}|${target.endpoints.map((e) => e.key).join(',')}`);
    }
    out.set(id, [...seen].sort());
  }
  return out;
}

function targetKeys(runtime: Runtime): string[] {
  const keys: string[] = [];
  for (const [id, list] of runtime.backendTargets) for (const t of list) keys.push(`${id}|${t.connectMs}`);
  return keys.sort();
}

/** What the runtime answers for every probe: a runtime once made must keep answering so (requests in flight hold it). */
function answers(runtime: Runtime): string[] {
  return probes().map((input) => describeMatch(runtime, input));
}

for (const [seed, hosts, steps] of [
  [1, HOSTS, 40],
  [2, HOSTS, 40],
  [3, HOSTS, 40],
  [4, HOSTS, 40],
  [5, HOSTS, 40],
  [6, HOSTS, 40],
  [7, MANY_HOSTS, 80],
  [8, MANY_HOSTS, 80],
] as const) {
  test(`a delta gives the runtime a full build gives (seed ${seed}${hosts === MANY_HOSTS ? ', many hosts' : ''})`, async () => {
    const rand = prng(seed);
    const randomRoute = (r: () => number, id: string, ids: readonly string[]): TableRoute => randomRouteOf(r, id, ids, hosts);
    let backendIds = ['be-0', 'be-1', 'be-2', 'be-3'];
    const backendOf = (id: string, n: number): TableBackend => backend(id, [9000 + (n % 5), 9100 + (n % 3)], n % 4 === 0 ? { pathPrefix: `/p${n}` } : {});
    let backends = backendIds.map((id, n) => backendOf(id, n));
    let routes: TableRoute[] = Array.from({ length: 120 }, (_, i) => randomRoute(rand, `r${i}`, backendIds));
    let current: RoutingTable = routingTableSchema.parse(table(routes, backends, 'v0'));
    const built = buildRuntime(current);
    assert.ok(built.ok);
    let runtime = built.runtime;
    let nextId = 120;
    let deltas = 0;

    for (let step = 1; step <= steps; step++) {
      // A new backend now and then; an unused one removed; one's settings changed.
      if (rand() < 0.3) {
        const id = `be-${nextId++}`;
        backendIds = [...backendIds, id];
        backends = [...backends, backendOf(id, nextId)];
      }
      if (rand() < 0.25) backends = backends.map((b) => (b.id === backendIds[Math.floor(rand() * backendIds.length)] ? { ...b, pathPrefix: `/moved${step}` } : b));
      routes = routes.filter(() => rand() > 0.05);
      routes = routes.map((r) => (rand() < 0.05 ? randomRoute(rand, r.id, backendIds) : r));
      for (let k = Math.floor(rand() * 6); k > 0; k--) routes.splice(Math.floor(rand() * (routes.length + 1)), 0, randomRoute(rand, `r${nextId++}`, backendIds));
      const used = new Set(routes.flatMap((r) => (r.backends ?? []).map((b) => b.backend)));
      if (rand() < 0.3) {
        const unused = backendIds.filter((id) => !used.has(id));
        if (unused.length > 0) {
          backendIds = backendIds.filter((id) => id !== unused[0]);
          backends = backends.filter((b) => b.id !== unused[0]);
        }
      }
      const next = routingTableSchema.parse(table(routes, backends, `v${step}`));
      const delta = tableDelta(current, next);
      assert.ok(delta !== null, `step ${step}: the controller would send a delta`);
      deltas++;
      const before = answers(runtime);
      const incremental = await applyDelta(runtime, delta, new TimeSlicer(), () => null);
      assert.ok(incremental.ok, `step ${step}: ${incremental.ok ? '' : incremental.error}`);
      assert.deepEqual(answers(runtime), before, `step ${step}: the previous runtime still answers as it did`);
      const full = buildRuntime(next, runtime);
      assert.ok(full.ok);

      assert.equal(JSON.stringify(incremental.runtime.table), JSON.stringify(next), `step ${step}: table bytes`);
      for (const input of probes()) {
        assert.equal(describeMatch(incremental.runtime, input), describeMatch(full.runtime, input), `step ${step}: ${input.method} ${input.host}${input.path}`);
      }
      assert.deepEqual(routeTargets(incremental.runtime), routeTargets(full.runtime), `step ${step}: route targets`);
      assert.deepEqual(targetKeys(incremental.runtime), targetKeys(full.runtime), `step ${step}: targets kept`);
      assert.deepEqual([...incremental.runtime.endpoints.keys()].sort(), [...full.runtime.endpoints.keys()].sort(), `step ${step}: pools kept`);
      assert.deepEqual(incremental.retired.map((e) => e.key).sort(), full.retired.map((e) => e.key).sort(), `step ${step}: pools retired`);
      runtime = incremental.runtime;
      current = next;
    }
    assert.equal(deltas, steps);
  });
}

// Routes added one after another into the same gap (each right before the same route, so every new key halves the
// last gap) until two keys would collide and the router is built anew; and at the start and the end of the table.
for (const where of ['one gap', 'start', 'end'] as const) {
  test(`routes added again and again into ${where === 'one gap' ? 'one gap' : `the ${where}`} match a full build`, async () => {
    const rand = prng(11);
    const ids = ['be-0', 'be-1'];
    let routes: TableRoute[] = Array.from({ length: 30 }, (_, i) => randomRouteOf(rand, `r${i}`, ids));
    let current = routingTableSchema.parse(table(routes, ids.map((id, n) => backend(id, [9000 + n])), 'v0'));
    const built = buildRuntime(current);
    assert.ok(built.ok);
    let runtime = built.runtime;
    for (let step = 1; step <= 80; step++) {
      const added = randomRouteOf(rand, `n${step}`, ids);
      // Before r10 (so after the previous one added): the gap below r10's key halves every time.
      const at = where === 'start' ? 0 : where === 'end' ? routes.length : routes.findIndex((r) => r.id === 'r10');
      routes = [...routes.slice(0, at), added, ...routes.slice(at)];
      const next = routingTableSchema.parse(table(routes, ids.map((id, n) => backend(id, [9000 + n])), `v${step}`));
      const delta = tableDelta(current, next);
      assert.ok(delta !== null);
      const incremental = await applyDelta(runtime, delta, new TimeSlicer(), () => null);
      assert.ok(incremental.ok, `step ${step}: ${incremental.ok ? '' : incremental.error}`);
      const full = buildRuntime(next);
      assert.ok(full.ok);
      assert.equal(JSON.stringify(incremental.runtime.table), JSON.stringify(next), `step ${step}: table bytes`);
      assert.deepEqual(answers(incremental.runtime), answers(full.runtime), `step ${step}`);
      runtime = incremental.runtime;
      current = next;
    }
  });
}

test('a delta whose route names a backend the table lacks, or that removes a backend still in use, is refused', async () => {
  const base = routingTableSchema.parse(table([route('r1', '/a', ['be']), route('r2', '/b', ['be2'])], [backend('be', [9000]), backend('be2', [9001])], 'v1'));
  const built = buildRuntime(base);
  assert.ok(built.ok);
  const unknown = await applyDelta(
    built.runtime,
    { type: 'delta', baseVersion: 'v1', version: 'v2', schema: TABLE_SCHEMA_VERSION, routes: { removed: [], changed: [route('r1', '/a', ['ghost'])], added: [] }, backends: { removed: [], changed: [], added: [] }, authorizers: NO_CHANGE, ratePolicies: NO_CHANGE, certificates: NO_CHANGE, tlsHosts: NO_CHANGE },
    new TimeSlicer(),
    () => null,
  );
  assert.deepEqual(unknown, { ok: false, error: 'invalid routing table: route "r1" references unknown backend "ghost"' });
  const inUse = await applyDelta(
    built.runtime,
    { type: 'delta', baseVersion: 'v1', version: 'v2', schema: TABLE_SCHEMA_VERSION, routes: { removed: [], changed: [], added: [] }, backends: { removed: ['be2'], changed: [], added: [] }, authorizers: NO_CHANGE, ratePolicies: NO_CHANGE, certificates: NO_CHANGE, tlsHosts: NO_CHANGE },
    new TimeSlicer(),
    () => null,
  );
  assert.deepEqual(inUse, { ok: false, error: 'invalid routing table: route "r2" references unknown backend "be2"' });
  const twice = await applyDelta(
    built.runtime,
    { type: 'delta', baseVersion: 'v1', version: 'v2', schema: TABLE_SCHEMA_VERSION, routes: { removed: [], changed: [], added: [{ after: 'r1', item: route('r2', '/c', ['be']) }] }, backends: { removed: [], changed: [], added: [] }, authorizers: NO_CHANGE, ratePolicies: NO_CHANGE, certificates: NO_CHANGE, tlsHosts: NO_CHANGE },
    new TimeSlicer(),
    () => null,
  );
  assert.deepEqual(twice, { ok: false, error: 'delta not applicable: route "r2" appears twice' });
});

// A table delta → the next runtime, rebuilding only what the delta touches: the new table is the previous one with
// the delta's routes and backends swapped in (in the controller's order); routes that did not change and send only
// to backends that did not change keep their compiled entry (pickers, rewriters, metrics) and their targets; the
// router reuses every host bucket no changed route is in. Built in time slices, swapped once by the caller.
import { buildRouteIndexDelta } from '../router/route-index.ts';
import type { Slicer } from '../router/host-buckets.ts';
import { applyListDelta } from '../table/list-delta.ts';
import type { DeltaMessage } from '../table/stream-protocol.ts';
import type { RoutingTable, TableBackend, TableRoute } from '../table/table-schema.ts';
import { EndpointCollector, finish, runtimeRoute, type BuildResult } from './build-runtime.ts';
import { tableReferenceProblem } from './table-references.ts';
import type { Runtime, RuntimeRoute } from './runtime-types.ts';

/** The table a delta makes of `base`, or why it cannot be applied. Pure: nothing is built or swapped. */
export function tableFromDelta(base: RoutingTable, delta: DeltaMessage): { ok: true; table: RoutingTable } | { ok: false; error: string } {
  if (delta.baseVersion !== base.version) return { ok: false, error: `delta against ${delta.baseVersion}, but serving ${base.version}` };
  if (delta.schema !== base.schema) return { ok: false, error: `delta for table schema ${delta.schema}, but serving schema ${base.schema}` };
  const routes = applyListDelta(base.routes, { removed: delta.routes.removed, changed: delta.routes.changed, added: delta.routes.added.map((a) => ({ after: a.after, item: a.item })) }, 'route');
  if (!routes.ok) return { ok: false, error: `delta not applicable: ${routes.error}` };
  const backends = applyListDelta(base.backends, { removed: delta.backends.removed, changed: delta.backends.changed, added: delta.backends.added.map((a) => ({ after: a.after, item: a.item })) }, 'backend');
  if (!backends.ok) return { ok: false, error: `delta not applicable: ${backends.error}` };
  // Same key order as a table assembled from parts, so the persisted file has the controller's bytes.
  const table: RoutingTable = { schema: base.schema, version: delta.version, routes: routes.items, backends: backends.items } as RoutingTable;
  const problem = tableReferenceProblem(table);
  return problem === null ? { ok: true, table } : { ok: false, error: `invalid routing table: ${problem}` };
}

export async function applyDelta(previous: Runtime, delta: DeltaMessage, slicer: Slicer, tooBig: (routes: number) => string | null): Promise<BuildResult> {
  const made = tableFromDelta(previous.table, delta);
  if (!made.ok) return made;
  const table = made.table;
  const big = tooBig(table.routes.length);
  if (big !== null) return { ok: false, error: big };
  if (slicer.due()) await slicer.pause();

  const oldRoutes = new Map(previous.table.routes.map((r) => [r.id, r]));
  const touched: TableRoute[] = [...delta.routes.changed, ...delta.routes.added.map((a) => a.item)];
  for (const id of [...delta.routes.removed, ...delta.routes.changed.map((r) => r.id)]) {
    const old = oldRoutes.get(id);
    if (old !== undefined) touched.push(old);
  }
  let index;
  try {
    index = await buildRouteIndexDelta(previous.index, table.routes, touched, slicer);
  } catch (err) {
    return { ok: false, error: `invalid routing table: ${err instanceof Error ? err.message : String(err)}` };
  }

  // A backend that changed in any way gets a new target; every route sending to it is rebuilt.
  const changedBackends = new Set<string>([...delta.backends.removed, ...delta.backends.changed.map((b) => b.id), ...delta.backends.added.map((a) => a.item.id)]);
  const changedRoutes = new Set<string>(touched.map((r) => r.id));
  const endpoints = new EndpointCollector(previous, previous.options);
  const backendsById = new Map<string, TableBackend>(table.backends.map((b) => [b.id, b]));
  // Targets of unchanged backends that some route still uses are carried over first, so kept routes and rebuilt
  // ones share them (an endpoint update then reaches both).
  const used = new Set<string>();
  for (const route of table.routes) for (const id of backendIds(route)) if (!changedBackends.has(id)) used.add(`${id}|${route.timeouts.connectMs}`);
  for (const [id, targets] of previous.backendTargets) {
    for (const t of targets) if (used.has(`${id}|${t.connectMs}`)) endpoints.adopt(id, t.target, t.connectMs);
  }
  const routes = new Map<string, RuntimeRoute>();
  for (const route of table.routes) {
    const kept = changedRoutes.has(route.id) || sendsTo(route, changedBackends) ? undefined : previous.routes.get(route.id);
    routes.set(route.id, kept ?? runtimeRoute(route, backendsById, endpoints, previous.options));
    if (slicer.due()) await slicer.pause();
  }
  return finish(table, index, routes, endpoints, previous, previous.options);
}

function backendIds(route: TableRoute): string[] {
  const ids = route.backends.map((b) => b.backend);
  for (const b of route.canary?.backends ?? []) ids.push(b.backend);
  return ids;
}

function sendsTo(route: TableRoute, backends: ReadonlySet<string>): boolean {
  if (backends.size === 0) return false;
  return backendIds(route).some((id) => backends.has(id));
}

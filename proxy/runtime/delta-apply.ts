// A table delta → the next runtime, doing work in proportion to the change, not to the table: the new table is the
// previous one with the delta's routes and backends swapped in (in the controller's order); routes that did not
// change and send only to backends that did not change keep their compiled entry (pickers, rewriters, metrics) and
// their targets; references are checked from counts the runtime carries, not by walking every route; the router
// reuses every host bucket no changed route is in. Built in time slices, swapped once by the caller.
import { buildRouteIndexDelta, buildRouteIndexSliced, orderKeyOf } from '../router/route-index.ts';
import type { Slicer } from '../router/host-buckets.ts';
import { addedOrderKeys } from '../router/route-order.ts';
import { applyListDelta, applyListDeltaIndexed } from '../table/list-delta.ts';
import type { DeltaMessage } from '../table/stream-protocol.ts';
import type { RoutingTable, TableRoute } from '../table/table-schema.ts';
import { buildBodySchemas } from '../validation/body-schema-set.ts';
import { certificateStore, EndpointCollector, finish, runtimeRoute, type BuildResult } from './build-runtime.ts';
import { buildAuthorizers } from '../policy/authorizer-set.ts';
import { buildRatePolicies } from '../policy/rate-limit/rate-policy-set.ts';
import type { Runtime, RuntimeRoute } from './runtime-types.ts';
import { duplicateId, firstBackendRef, unknownBackendProblem } from './table-references.ts';

/**
 * The table a delta makes of `base`, or why it cannot be applied. Pure: nothing is built or swapped. `routeOf` finds a
 * base route by id (the runtime's routes), which spares the walk over every route for a small delta.
 */
export function tableFromDelta(base: RoutingTable, delta: DeltaMessage, routeOf?: (id: string) => TableRoute | undefined): { ok: true; table: RoutingTable } | { ok: false; error: string } {
  if (delta.baseVersion !== base.version) return { ok: false, error: `delta against ${delta.baseVersion}, but serving ${base.version}` };
  if (delta.schema !== base.schema) return { ok: false, error: `delta for table schema ${delta.schema}, but serving schema ${base.schema}` };
  const routes = routeOf === undefined ? applyListDelta(base.routes, delta.routes, 'route') : applyListDeltaIndexed(base.routes, delta.routes, 'route', routeOf);
  if (!routes.ok) return { ok: false, error: `delta not applicable: ${routes.error}` };
  const backends = applyListDelta(base.backends, delta.backends, 'backend');
  if (!backends.ok) return { ok: false, error: `delta not applicable: ${backends.error}` };
  const authorizers = applyListDelta(base.authorizers, delta.authorizers, 'authorizer');
  if (!authorizers.ok) return { ok: false, error: `delta not applicable: ${authorizers.error}` };
  const ratePolicies = applyListDelta(base.ratePolicies, delta.ratePolicies, 'rate policy');
  if (!ratePolicies.ok) return { ok: false, error: `delta not applicable: ${ratePolicies.error}` };
  const certificates = applyListDelta(base.certificates, delta.certificates, 'certificate');
  if (!certificates.ok) return { ok: false, error: `delta not applicable: ${certificates.error}` };
  const tlsHosts = applyListDelta(base.tlsHosts, delta.tlsHosts, 'TLS host');
  if (!tlsHosts.ok) return { ok: false, error: `delta not applicable: ${tlsHosts.error}` };
  // Same key order as a table assembled from parts, so the persisted file has the controller's bytes.
  const table = {
    schema: base.schema,
    version: delta.version,
    routes: routes.items,
    backends: backends.items,
    authorizers: authorizers.items,
    ratePolicies: ratePolicies.items,
    certificates: certificates.items,
    tlsHosts: tlsHosts.items,
  };
  return { ok: true, table: table as RoutingTable };
}

export async function applyDelta(previous: Runtime, delta: DeltaMessage, slicer: Slicer, tooBig: (routes: number) => string | null): Promise<BuildResult> {
  const routeOf = (id: string): TableRoute | undefined => previous.routes.get(id)?.route;
  const made = tableFromDelta(previous.table, delta, routeOf);
  if (!made.ok) return made;
  const table = made.table;
  const big = tooBig(table.routes.length);
  if (big !== null) return { ok: false, error: big };

  const backendsById = new Map(previous.backendsById);
  for (const id of delta.backends.removed) backendsById.delete(id);
  for (const b of delta.backends.changed) backendsById.set(b.id, b);
  for (const { item } of delta.backends.added) backendsById.set(item.id, item);

  // The old versions of removed and changed routes leave the counts; the new versions of changed and added ones join.
  const oldTouched: TableRoute[] = [];
  for (const id of new Set(delta.routes.removed)) oldTouched.push((previous.routes.get(id) as RuntimeRoute).route);
  for (const r of delta.routes.changed) oldTouched.push((previous.routes.get(r.id) as RuntimeRoute).route);
  const newTouched: TableRoute[] = [...delta.routes.changed];
  for (const { item } of delta.routes.added) newTouched.push(item);
  const refs = previous.refs.clone();
  for (const route of oldTouched) refs.remove(route);
  for (const route of newTouched) {
    refs.add(route);
    const unknown = firstBackendRef(route, (id) => !backendsById.has(id));
    if (unknown !== null) return { ok: false, error: `invalid routing table: ${unknownBackendProblem(route, unknown)}` };
  }
  for (const id of delta.backends.removed) {
    if (!refs.usesBackend(id)) continue;
    const user = table.routes.find((r) => firstBackendRef(r, (ref) => ref === id) !== null) as TableRoute;
    return { ok: false, error: `invalid routing table: ${unknownBackendProblem(user, id)}` };
  }
  if (slicer.due()) await slicer.pause();

  // Changed routes keep their order key; added ones get keys between their neighbours'. With no room left between
  // two keys (route-order.ts), the router is built anew, which spaces them again.
  const orders = addedOrderKeys(previous.table.routes, delta.routes.added, (id) => orderKeyOf(previous.index, id), routeOf);
  let index;
  try {
    if (orders === null) index = await buildRouteIndexSliced(table.routes, slicer);
    else {
      const placed = delta.routes.changed.map((route) => ({ route, order: orderKeyOf(previous.index, route.id) as number }));
      for (const { item } of delta.routes.added) placed.push({ route: item, order: orders.get(item.id) as number });
      index = await buildRouteIndexDelta(previous.index, oldTouched, placed, slicer);
    }
  } catch (err) {
    return { ok: false, error: `invalid routing table: ${err instanceof Error ? err.message : String(err)}` };
  }

  // Authorizers and rate policies come and go with their routes' references only by id: a route naming one the table
  // lacks is served a 500 (fail closed), so no reference check can refuse the delta. Unchanged ones are kept as built.
  const authorizersTouched = touched(delta.authorizers);
  if (authorizersTouched) {
    const duplicate = duplicateId(table.authorizers);
    if (duplicate !== null) return { ok: false, error: `invalid routing table: duplicate authorizer id ${JSON.stringify(duplicate)}` };
  }
  for (const [list, what] of [
    [delta.certificates, 'certificate'],
    [delta.tlsHosts, 'TLS host'],
  ] as const) {
    if (!touched(list)) continue;
    const duplicate = duplicateId(what === 'certificate' ? table.certificates : table.tlsHosts);
    if (duplicate !== null) return { ok: false, error: `invalid routing table: duplicate ${what} id ${JSON.stringify(duplicate)}` };
  }
  const ratePoliciesTouched = touched(delta.ratePolicies);
  if (ratePoliciesTouched) {
    const duplicate = duplicateId(table.ratePolicies);
    if (duplicate !== null) return { ok: false, error: `invalid routing table: duplicate rate policy id ${JSON.stringify(duplicate)}` };
  }
  const authorizers = authorizersTouched ? buildAuthorizers(table.authorizers, previous.authorizers, previous.options.policy) : previous.authorizers;
  const ratePolicies = ratePoliciesTouched ? buildRatePolicies(table.ratePolicies, previous.ratePolicies, previous.options.policy.limits) : previous.ratePolicies;
  // Only when a route with a body schema came, went or changed are the schemas looked up again (over the whole table,
  // unchanged routes by object: nothing is recompiled); other deltas keep the set as it is, at no cost per route.
  const schemasTouched = oldTouched.some(hasBodySchema) || newTouched.some(hasBodySchema);
  const bodySchemas = schemasTouched ? buildBodySchemas(table.routes, previous.bodySchemas) : { ok: true as const, schemas: previous.bodySchemas };
  if (!bodySchemas.ok) return { ok: false, error: `invalid routing table: ${bodySchemas.error}` };
  const shared = { authorizers, ratePolicies, bodySchemas: bodySchemas.schemas };

  // A backend that changed in any way gets a new target, an authorizer or rate policy that changed a new built form;
  // every route sending to or using one is rebuilt. Finding those routes walks the table, but only when a backend's
  // settings or a shared policy changed (endpoint-only changes travel as endpoint updates).
  const changedBackends = new Set<string>(delta.backends.changed.map((b) => b.id));
  const changedAuthorizers = authorizersTouched ? changedIds(previous.authorizers, authorizers) : NO_IDS;
  const changedRatePolicies = ratePoliciesTouched ? changedIds(previous.ratePolicies, ratePolicies) : NO_IDS;
  const rebuild: TableRoute[] = [...newTouched];
  if (changedBackends.size > 0 || changedAuthorizers.size > 0 || changedRatePolicies.size > 0) {
    const touchedIds = new Set(newTouched.map((r) => r.id));
    const changed = (id: string): boolean => changedBackends.has(id);
    for (const route of table.routes) {
      if (touchedIds.has(route.id)) continue;
      if (
        firstBackendRef(route, changed) !== null ||
        (route.auth !== undefined && changedAuthorizers.has(route.auth.authorizer)) ||
        (route.ratePolicies !== undefined && route.ratePolicies.some((id) => changedRatePolicies.has(id)))
      ) {
        rebuild.push(route);
      }
    }
  }
  const removedBackends = new Set(delta.backends.removed);
  // Targets of unchanged backends that some route still uses are carried over first, so kept routes and rebuilt
  // ones share them (an endpoint update then reaches both).
  const endpoints = new EndpointCollector(previous, previous.options);
  for (const [id, targets] of previous.backendTargets) {
    if (changedBackends.has(id) || removedBackends.has(id)) continue;
    for (const t of targets) if (refs.usesTarget(id, t.connectMs)) endpoints.adopt(id, t.target, t.connectMs);
  }
  const rebuilt: Array<[string, RuntimeRoute | undefined]> = delta.routes.removed.map((id) => [id, undefined]);
  for (const route of rebuild) {
    rebuilt.push([route.id, runtimeRoute(route, backendsById, endpoints, previous.options, shared)]);
    if (slicer.due()) await slicer.pause();
  }
  let routes = previous.routes.with(rebuilt);
  if (routes.wantsCompaction) routes = await routes.compacted(slicer);
  const certificates = touched(delta.certificates) || touched(delta.tlsHosts) ? certificateStore(table, previous, previous.options) : previous.certificates;
  return finish({ table, index, routes, endpoints, backendsById, refs, ...shared }, previous, previous.options, certificates);
}

const NO_IDS: ReadonlySet<string> = new Set();

function hasBodySchema(route: TableRoute): boolean {
  return route.requestValidation?.bodySchema !== undefined;
}

function touched(delta: { removed: unknown[]; changed: unknown[]; added: unknown[] }): boolean {
  return delta.removed.length + delta.changed.length + delta.added.length > 0;
}

/** Ids built anew (changed or added) or dropped between two sets of built shared policies. */
function changedIds<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>): Set<string> {
  const ids = new Set<string>();
  for (const [id, built] of before) if (after.get(id) !== built) ids.add(id);
  for (const id of after.keys()) if (!before.has(id)) ids.add(id);
  return ids;
}

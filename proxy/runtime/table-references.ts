// Checks the schema cannot express: ids are unique and every route names backends the table has. The delta path
// (delta-apply.ts) checks only the routes it touches, with the same helpers and the same message.
import type { Slicer } from '../router/host-buckets.ts';
import type { RoutingTable, TableRoute } from '../table/table-schema.ts';

/** The first problem found, or null when the table is consistent. */
export function tableReferenceProblem(table: RoutingTable): string | null {
  const check = referenceChecker(table);
  if (typeof check === 'string') return check;
  for (const route of table.routes) {
    const problem = check(route);
    if (problem !== null) return problem;
  }
  return null;
}

/** tableReferenceProblem in time slices: at 50k routes the walk is tens of milliseconds. */
export async function tableReferenceProblemSliced(table: RoutingTable, slicer: Slicer): Promise<string | null> {
  const check = referenceChecker(table);
  if (typeof check === 'string') return check;
  for (const route of table.routes) {
    const problem = check(route);
    if (problem !== null) return problem;
    if (slicer.due()) await slicer.pause();
  }
  return null;
}

/** The problem among the table's other lists, or the check to run on each route in order. */
function referenceChecker(table: RoutingTable): string | ((route: TableRoute) => string | null) {
  const backends = new Set<string>();
  for (const backend of table.backends) {
    if (backends.has(backend.id)) return `duplicate backend id ${JSON.stringify(backend.id)}`;
    backends.add(backend.id);
  }
  const authorizer = duplicateId(table.authorizers);
  if (authorizer !== null) return `duplicate authorizer id ${JSON.stringify(authorizer)}`;
  const ratePolicy = duplicateId(table.ratePolicies);
  if (ratePolicy !== null) return `duplicate rate policy id ${JSON.stringify(ratePolicy)}`;
  const certificate = duplicateId(table.certificates);
  if (certificate !== null) return `duplicate certificate id ${JSON.stringify(certificate)}`;
  const tlsHost = duplicateId(table.tlsHosts);
  if (tlsHost !== null) return `duplicate TLS host id ${JSON.stringify(tlsHost)}`;
  const routes = new Set<string>();
  const unknown = (id: string): boolean => !backends.has(id);
  return (route) => {
    if (routes.has(route.id)) return `duplicate route id ${JSON.stringify(route.id)}`;
    routes.add(route.id);
    const missing = firstBackendRef(route, unknown);
    return missing === null ? null : unknownBackendProblem(route, missing);
  };
}

/** The first id that appears twice in `items`, or null. */
export function duplicateId(items: ReadonlyArray<{ id: string }>): string | null {
  const seen = new Set<string>();
  for (const { id } of items) {
    if (seen.has(id)) return id;
    seen.add(id);
  }
  return null;
}

/**
 * The first backend id the route sends to (its backends, then its canary's) that passes `test`, or null. Without
 * allocating: the delta path runs it for every route of the table when a backend's settings change.
 */
export function firstBackendRef(route: TableRoute, test: (backendId: string) => boolean): string | null {
  for (const ref of route.backends ?? []) if (test(ref.backend)) return ref.backend;
  const canary = route.canary;
  if (canary !== undefined) for (const ref of canary.backends) if (test(ref.backend)) return ref.backend;
  return null;
}

export function unknownBackendProblem(route: TableRoute, backendId: string): string {
  return `route ${JSON.stringify(route.id)} references unknown backend ${JSON.stringify(backendId)}`;
}

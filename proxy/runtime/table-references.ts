// Checks the schema cannot express: ids are unique and every route names backends the table has.
import type { RoutingTable } from '../table/table-schema.ts';

/** The first problem found, or null when the table is consistent. */
export function tableReferenceProblem(table: RoutingTable): string | null {
  const backends = new Set<string>();
  for (const backend of table.backends) {
    if (backends.has(backend.id)) return `duplicate backend id ${JSON.stringify(backend.id)}`;
    backends.add(backend.id);
  }
  const routes = new Set<string>();
  for (const route of table.routes) {
    if (routes.has(route.id)) return `duplicate route id ${JSON.stringify(route.id)}`;
    routes.add(route.id);
    for (const ref of [...route.backends, ...(route.canary?.backends ?? [])]) {
      if (!backends.has(ref.backend)) return `route ${JSON.stringify(route.id)} references unknown backend ${JSON.stringify(ref.backend)}`;
    }
  }
  return null;
}

// Routing tables built by hand for proxy tests, valid per proxy/table/table-schema.ts.
import { TABLE_SCHEMA_VERSION, type RoutingTable, type TableAuthorizer, type TableBackend, type TableRatePolicy, type TableRoute } from '../../../proxy/table/table-schema.ts';

let versionCounter = 0;

export function backend(id: string, ports: number[], extra: Partial<TableBackend> = {}): TableBackend {
  return { id, protocol: 'http', pathPrefix: '', endpoints: ports.map((port) => ({ host: '127.0.0.1', port })), ...extra };
}

const NO_CHANGES = { set: [], add: [], remove: [] };

/** A prefix route on any host to the given backends (weight 1 each unless given as [id, weight]). */
export function route(id: string, prefix: string, backends: Array<string | [string, number]>, extra: Partial<TableRoute> = {}): TableRoute {
  return {
    id,
    source: { namespace: 'test', name: id, rule: 0, match: 0 },
    hosts: [],
    path: { type: 'prefix', value: prefix },
    methods: [],
    headers: [],
    query: [],
    requestHeaders: NO_CHANGES,
    responseHeaders: NO_CHANGES,
    backends: backends.map((b) => (typeof b === 'string' ? { backend: b, weight: 1 } : { backend: b[0], weight: b[1] })),
    timeouts: { connectMs: 1_000, requestMs: 10_000, idleMs: 5_000 },
    retries: { attempts: 2 },
    maxBodyBytes: 10 * 1024 * 1024,
    ...extra,
  };
}

export function table(
  routes: TableRoute[],
  backends: TableBackend[],
  version?: string,
  authorizers: TableAuthorizer[] = [],
  ratePolicies: TableRatePolicy[] = [],
  tls: Pick<RoutingTable, 'certificates' | 'tlsHosts'> = { certificates: [], tlsHosts: [] },
): RoutingTable {
  return {
    schema: TABLE_SCHEMA_VERSION,
    version: version ?? `test-${++versionCounter}`,
    routes,
    backends: [...backends].sort((a, b) => a.id.localeCompare(b.id)),
    authorizers: [...authorizers].sort((a, b) => a.id.localeCompare(b.id)),
    ratePolicies: [...ratePolicies].sort((a, b) => a.id.localeCompare(b.id)),
    certificates: [...tls.certificates].sort((a, b) => a.id.localeCompare(b.id)),
    tlsHosts: [...tls.tlsHosts].sort((a, b) => a.id.localeCompare(b.id)),
  };
}

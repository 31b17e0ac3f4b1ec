// The routing tables the gateway is measured with, built by hand to the table contract
// (proxy/table/table-schema.ts): one catch-all route, and 10,000 routes of mixed shapes.
import { createHash } from 'node:crypto';
import {
  ROUTE_DEFAULTS,
  TABLE_SCHEMA_VERSION,
  routingTableSchema,
  type RoutingTable,
  type TableAuthorizer,
  type TableBackend,
  type TableCache,
  type TableCors,
  type TableRequestValidation,
  type TableRatePolicy,
  type TableRoute,
  type TablePathMatch,
  type TableRouteAuth,
  type TableValueMatch,
} from '../proxy/table/table-schema.ts';
import { buildRouteIndex } from '../proxy/router/route-index.ts';
import { LOOPBACK } from './ports.ts';

/** The one request every case is measured with: a template route of a host in the middle of the 10k table. */
export const MEASURED_HOST = 'api-125.bench.example.com';
export const MEASURED_PATH = '/v1/users/42/items-22/7';
/** The route that request must hit in the 10k table (a template route with two params). */
export const MEASURED_ROUTE_ID = 'bench/api-125/r22/m0';

const API_ROUTES = 250;
const ROUTES_PER_API_ROUTE = 40;

const NO_HEADER_CHANGES = { set: [], add: [], remove: [] };

export function route(id: string, source: TableRoute['source'], hosts: string[], path: TablePathMatch, backend: string, extra: Partial<TableRoute> = {}): TableRoute {
  return {
    id,
    source,
    hosts,
    path,
    methods: [],
    headers: [],
    query: [],
    requestHeaders: NO_HEADER_CHANGES,
    responseHeaders: NO_HEADER_CHANGES,
    backends: [{ backend, weight: 1 }],
    timeouts: { connectMs: ROUTE_DEFAULTS.connectMs, requestMs: ROUTE_DEFAULTS.requestMs, idleMs: ROUTE_DEFAULTS.idleMs },
    retries: { attempts: ROUTE_DEFAULTS.retryAttempts },
    maxBodyBytes: ROUTE_DEFAULTS.maxBodyBytes,
    ...extra,
  };
}

export function backend(upstreamPort: number, pathPrefix: string): TableBackend {
  return { id: `url:http://${LOOPBACK}:${upstreamPort}${pathPrefix}`, protocol: 'http', pathPrefix, endpoints: [{ host: LOOPBACK, port: upstreamPort }] };
}

/** Finishes a table: sorted backends, authorizers and rate policies, a content hash as version, and a check against the contract. */
export function seal(routes: TableRoute[], backends: TableBackend[], authorizers: TableAuthorizer[] = [], ratePolicies: TableRatePolicy[] = []): RoutingTable {
  const sorted = [...backends].sort((a, b) => a.id.localeCompare(b.id));
  const sortedAuthorizers = [...authorizers].sort((a, b) => a.id.localeCompare(b.id));
  const sortedPolicies = [...ratePolicies].sort((a, b) => a.id.localeCompare(b.id));
  const content = { routes, backends: sorted, authorizers: sortedAuthorizers, ratePolicies: sortedPolicies };
  const version = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16);
  // No certificates: the TLS cases add theirs in bench/gateway-process.ts.
  return routingTableSchema.parse({ schema: TABLE_SCHEMA_VERSION, version, ...content, certificates: [], tlsHosts: [] });
}

/** The Authorizer a route enforces: the route's `auth` and the table entry it names. */
export interface RoutePolicyFixture {
  auth: TableRouteAuth;
  authorizer: TableAuthorizer;
}

/**
 * One catch-all route; with `policy`, the same route behind an Authorizer, with `ratePolicy`, the same route naming
 * that RatePolicy (each the only difference from the plain table).
 */
/** The CORS of the cors-origin case: a credentialed policy with a few origins, so the answer names the origin. */
export const BENCH_CORS: TableCors = {
  allowOrigins: ['https://app.bench.example', 'https://*.tenants.bench.example', 'https://admin.bench.example'],
  allowMethods: ['DELETE', 'GET', 'POST', 'PUT'],
  allowHeaders: ['content-type', 'x-api-key'],
  exposeHeaders: ['x-request-id'],
  allowCredentials: true,
  maxAgeSeconds: 600,
};

export function oneRouteTable(upstreamPort: number, policy?: RoutePolicyFixture, ratePolicy?: TableRatePolicy, cors?: TableCors, cache?: TableCache, requestValidation?: TableRequestValidation): RoutingTable {
  const b = backend(upstreamPort, '');
  const extra: Partial<TableRoute> = {
    ...(cache === undefined ? {} : { cache }),
    ...(policy === undefined ? {} : { auth: policy.auth }),
    ...(ratePolicy === undefined ? {} : { ratePolicies: [ratePolicy.id] }),
    ...(cors === undefined ? {} : { cors }),
    ...(requestValidation === undefined ? {} : { requestValidation }),
  };
  const r = route('bench/catch-all/r0/m0', { namespace: 'bench', name: 'catch-all', rule: 0, match: 0 }, [], { type: 'prefix', value: '/' }, b.id, extra);
  return seal([r], [b], policy === undefined ? [] : [policy.authorizer], ratePolicy === undefined ? [] : [ratePolicy]);
}

/** The cache-hit cases' cache: the rule's defaults (5 minutes, 1 MiB entries, this proxy's memory). */
export const BENCH_CACHE: TableCache = { id: 'bench/catch-all/r0', ttlMs: 300_000, varyHeaders: [], maxEntryBytes: 1024 * 1024, storage: 'memory' };

/** Hosts of ApiRoute i: mostly two exact hosts, every 10th a wildcard, every 25th any host under a base path. */
function hostsOf(i: number): { hosts: string[]; basePath: string } {
  if (i % 25 === 24) return { hosts: [], basePath: `/shared-${i}` };
  if (i % 10 === 9) return { hosts: [`*.tenant-${i}.bench.example.com`], basePath: '' };
  return { hosts: [`api-${i}.bench.example.com`, `api-${i}.internal.example.com`], basePath: '' };
}

/** Rule k of an ApiRoute: a rotation of exact, prefix and template paths, a few regexes and header matches. */
function pathOf(k: number, basePath: string): { path: TablePathMatch; methods: string[]; headers: TableValueMatch[] } {
  const headers: TableValueMatch[] = k % 8 === 5 ? [{ name: 'x-tenant', type: 'present' }] : [];
  if (k === ROUTES_PER_API_ROUTE - 1) return { path: { type: 'regex', value: `${basePath}/legacy/[0-9]+/report-${k}` }, methods: ['GET'], headers };
  switch (k % 4) {
    case 0:
      return { path: { type: 'exact', value: `${basePath}/v1/resource-${k}` }, methods: ['GET'], headers };
    case 1:
      return { path: { type: 'prefix', value: `${basePath}/v1/collection-${k}` }, methods: [], headers };
    case 2:
      return { path: { type: 'template', value: `${basePath}/v1/users/{userId}/items-${k}/{itemId}` }, methods: ['GET', 'POST'], headers };
    default:
      return { path: { type: 'template', value: `${basePath}/v2/orders-${k}/{orderId}` }, methods: ['GET', 'PUT', 'DELETE'], headers };
  }
}

export function tenThousandRouteTable(upstreamPort: number): RoutingTable {
  const routes: TableRoute[] = [];
  const backends: TableBackend[] = [];
  for (let i = 0; i < API_ROUTES; i++) {
    const name = `api-${i}`;
    const { hosts, basePath } = hostsOf(i);
    const b = backend(upstreamPort, `/svc-${i}`);
    backends.push(b);
    for (let k = 0; k < ROUTES_PER_API_ROUTE; k++) {
      const { path, methods, headers } = pathOf(k, basePath);
      routes.push(route(`bench/${name}/r${k}/m0`, { namespace: 'bench', name, rule: k, match: 0 }, hosts, path, b.id, { methods, headers }));
    }
  }
  return seal(routes, backends);
}

/**
 * The upstream answers 200 to any path, so a 200 alone does not prove the intended route served
 * the request; the proxy's own router must pick `routeId` for the measured request.
 */
export function assertMeasuredRoute(table: RoutingTable, routeId: string): void {
  const result = buildRouteIndex(table.routes).match({ host: MEASURED_HOST, method: 'GET', path: MEASURED_PATH, query: '', headers: { host: MEASURED_HOST } });
  const got = result.kind === 'route' ? result.route.id : result.kind;
  if (got !== routeId) throw new Error(`the measured request matches ${got} in table ${table.version}, expected ${routeId}`);
}

/**
 * The validation cases' body schema: an order as an API would describe it (nested objects, an array of items, formats,
 * enums, bounds, additionalProperties false), and a 1 KB body that matches it.
 */
export const BENCH_VALIDATION: TableRequestValidation = {
  requiredHeaders: [],
  requiredQuery: [],
  bodySchema: {
    type: 'object',
    required: ['id', 'customer', 'items', 'currency'],
    additionalProperties: false,
    properties: {
      id: { type: 'string', format: 'uuid' },
      customer: {
        type: 'object',
        required: ['name', 'email'],
        properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, email: { type: 'string', format: 'email' }, vip: { type: 'boolean' } },
      },
      currency: { enum: ['EUR', 'USD', 'GBP'] },
      note: { type: 'string', maxLength: 500 },
      items: {
        type: 'array',
        minItems: 1,
        maxItems: 50,
        items: {
          type: 'object',
          required: ['sku', 'quantity', 'price'],
          additionalProperties: false,
          properties: { sku: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{4}$' }, quantity: { type: 'integer', minimum: 1 }, price: { type: 'number', minimum: 0 } },
        },
      },
    },
  },
};

export const BENCH_JSON_BODY = ((): string => {
  const items = Array.from({ length: 12 }, (_, i) => ({ sku: `ABC-${String(1000 + i)}`, quantity: i + 1, price: 9.99 + i }));
  const order = { id: '3f2b8c1e-5d4a-4e7b-9c2f-1a2b3c4d5e6f', customer: { name: 'Ada Lovelace', email: 'ada@example.com', vip: true }, currency: 'EUR', items, note: '' };
  const base = JSON.stringify(order);
  // Padded with the note to exactly 1024 bytes.
  return JSON.stringify({ ...order, note: 'n'.repeat(1024 - base.length) });
})();

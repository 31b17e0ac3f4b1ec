// Validation code run once at proxy start on a small sample, before any real table arrives. zod 4 generates each
// object schema's parser the first time it is used: the first table part a proxy received held its event loop for
// ~20 ms whatever its size (measured at 50k routes: the longest stretch of a joining proxy's whole-table apply after
// the garbage collections). Paid here, at start, nothing is being served yet. The upstream pool's class (undici's
// Pool file) is loaded here too: every table with a reachable backend needs it, and its first require inside a
// table build held the loop for ~13–20 ms.
import { undiciPool } from '../runtime/on-demand-packages.ts';
import { controllerMessage } from './stream-protocol.ts';
import { ROUTE_DEFAULTS, TABLE_SCHEMA_VERSION, type TableRoute } from './table-schema.ts';

const NO_CHANGES = { set: [], add: [], remove: [] };
const BACKEND = { id: 'url:http://127.0.0.1:1', protocol: 'http', pathPrefix: '', endpoints: [{ host: '127.0.0.1', port: 1 }] };

function sampleRoute(n: number, path: TableRoute['path']): unknown {
  return {
    id: `warm-up/sample/r0/m${n}`,
    source: { namespace: 'warm-up', name: 'sample', rule: 0, match: n },
    hosts: ['warm-up.invalid'],
    path,
    methods: ['GET'],
    headers: [],
    query: [],
    requestHeaders: NO_CHANGES,
    responseHeaders: NO_CHANGES,
    backends: [{ backend: BACKEND.id, weight: 1 }],
    timeouts: { connectMs: ROUTE_DEFAULTS.connectMs, requestMs: ROUTE_DEFAULTS.requestMs, idleMs: ROUTE_DEFAULTS.idleMs },
    retries: { attempts: ROUTE_DEFAULTS.retryAttempts },
    maxBodyBytes: ROUTE_DEFAULTS.maxBodyBytes,
  };
}

const ROUTES = [sampleRoute(0, { type: 'exact', value: '/a' }), sampleRoute(1, { type: 'prefix', value: '/b' }), sampleRoute(2, { type: 'template', value: '/c/{id}' })];
const LISTS = { routes: ROUTES, backends: [BACKEND], authorizers: [], ratePolicies: [], certificates: [], tlsHosts: [] };
const noDelta = { removed: [], changed: [], added: [] };

/** The messages the sample makes, each of which must be valid (a unit test holds it to that). */
export const WARM_UP_SAMPLES = {
  part: { type: 'table-part', version: 'warm-up', schema: TABLE_SCHEMA_VERSION, part: 0, parts: 1, ...LISTS },
  delta: { type: 'delta', baseVersion: 'warm-up', version: 'warm-up-2', schema: TABLE_SCHEMA_VERSION, routes: { removed: [], changed: [ROUTES[0]], added: [{ after: null, item: ROUTES[1] }] }, backends: noDelta, authorizers: noDelta, ratePolicies: noDelta, certificates: noDelta, tlsHosts: noDelta },
} as const;

/**
 * Runs the stream's validators on the samples (the table file's items go through the same item schemas) and loads the
 * upstream pool class. Not the whole-table schema: the proxy validates a table part by part, never whole.
 */
export function warmUpTableCode(): void {
  controllerMessage.safeParse(WARM_UP_SAMPLES.part);
  controllerMessage.safeParse(WARM_UP_SAMPLES.delta);
  undiciPool();
}

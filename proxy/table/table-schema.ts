// The routing table: the contract between the controller (which compiles to it) and the proxy (which accepts it).
// Like Envoy's xDS it is versioned, JSON-serialisable, and validated by the proxy before use.
// Backends (clusters) are separate from routes so endpoint-only changes never touch the routes.
import { z } from 'zod';

export const TABLE_SCHEMA_VERSION = 1;

const lowerHeaderName = z.string().min(1).regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, 'header names are lower-case in the table');

export const tableEndpointSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});
export type TableEndpoint = z.output<typeof tableEndpointSchema>;

export const tableBackendSchema = z.object({
  /** Stable id: "svc:<ns>/<name>:<port>" or "url:<origin><prefix>". */
  id: z.string().min(1),
  protocol: z.enum(['http', 'https']),
  /** Prepended to the forwarded path ("" for none); never ends with "/". */
  pathPrefix: z.string(),
  /** Host header sent upstream; absent means the client's Host is kept. */
  hostHeader: z.string().optional(),
  endpoints: z.array(tableEndpointSchema),
});
export type TableBackend = z.output<typeof tableBackendSchema>;

export const weightedBackendSchema = z.object({
  backend: z.string().min(1),
  weight: z.number().int().min(0),
});
export type WeightedBackend = z.output<typeof weightedBackendSchema>;

export const tablePathMatchSchema = z.object({
  type: z.enum(['exact', 'prefix', 'template', 'regex']),
  /** The full path to match, basePath included; regex is anchored by the proxy (^…$). */
  value: z.string().min(1),
});
export type TablePathMatch = z.output<typeof tablePathMatchSchema>;

export const tableValueMatchSchema = z.object({
  name: z.string().min(1),
  type: z.enum(['exact', 'regex', 'present']),
  value: z.string().optional(),
});
export type TableValueMatch = z.output<typeof tableValueMatchSchema>;

export const tableRewriteSchema = z.discriminatedUnion('kind', [
  /** Replace a leading `from` with `to` ("" strips; an empty result becomes "/"). */
  z.object({ kind: z.literal('prefix'), from: z.string(), to: z.string() }),
  /** Replace the whole path; `{param}` is filled from the template match. */
  z.object({ kind: z.literal('path'), to: z.string().startsWith('/') }),
]);
export type TableRewrite = z.output<typeof tableRewriteSchema>;

export const tableHeaderChangesSchema = z.object({
  set: z.array(z.tuple([lowerHeaderName, z.string()])),
  add: z.array(z.tuple([lowerHeaderName, z.string()])),
  remove: z.array(lowerHeaderName),
});
export type TableHeaderChanges = z.output<typeof tableHeaderChangesSchema>;

export const tableRouteSchema = z.object({
  /** Unique in the table: "<ns>/<name>/r<rule>/m<match>". */
  id: z.string().min(1),
  source: z.object({ namespace: z.string(), name: z.string(), rule: z.number().int(), match: z.number().int() }),
  /** Exact or "*.suffix" hosts, lower-case; empty means any host. */
  hosts: z.array(z.string().min(1)),
  path: tablePathMatchSchema,
  /** Upper-case methods; empty means any method. */
  methods: z.array(z.string().min(1)),
  headers: z.array(tableValueMatchSchema),
  query: z.array(tableValueMatchSchema),
  rewrite: tableRewriteSchema.optional(),
  requestHeaders: tableHeaderChangesSchema,
  responseHeaders: tableHeaderChangesSchema,
  backends: z.array(weightedBackendSchema).min(1),
  canary: z
    .object({
      header: z.object({ name: lowerHeaderName, value: z.string() }).optional(),
      cookie: z.object({ name: z.string().min(1), value: z.string() }).optional(),
      backends: z.array(weightedBackendSchema).min(1),
    })
    .optional(),
  timeouts: z.object({
    connectMs: z.number().int().positive(),
    requestMs: z.number().int().positive(),
    idleMs: z.number().int().positive(),
  }),
  retries: z.object({ attempts: z.number().int().min(0).max(5) }),
  maxBodyBytes: z.number().int().nonnegative(),
});
export type TableRoute = z.output<typeof tableRouteSchema>;

export const routingTableSchema = z.object({
  schema: z.literal(TABLE_SCHEMA_VERSION),
  /** Content hash of everything else in the table; equal tables have equal versions. */
  version: z.string().min(1),
  /** In precedence order for equal matches: the conflict-resolution order of their resources. */
  routes: z.array(tableRouteSchema),
  /** Sorted by id. */
  backends: z.array(tableBackendSchema),
});
export type RoutingTable = z.output<typeof routingTableSchema>;

/** Defaults the compiler fills in when a rule sets nothing. */
export const ROUTE_DEFAULTS = {
  connectMs: 5_000,
  requestMs: 30_000,
  idleMs: 60_000,
  retryAttempts: 2,
  maxBodyBytes: 10 * 1024 * 1024,
} as const;

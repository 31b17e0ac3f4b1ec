// The routing table: the contract between the controller (which compiles to it) and the proxy (which accepts it).
// Like Envoy's xDS it is versioned, JSON-serialisable, and validated by the proxy before use.
// Backends (clusters) are separate from routes so endpoint-only changes never touch the routes.
import { z } from 'zod';
import { shareRouteParts } from './shared-route-parts.ts';
import { parseTemplate } from '../direct/response-template.ts';

// 2: authorizers and per-route policies. A proxy of schema 1 would drop the fields it does not know and serve
// protected routes open, so it must refuse these tables (it NACKs an unknown schema) rather than read them.
// 3: rate policies (limits, quotas, usage plans), for the same reason: a schema-2 proxy would serve them unthrottled.
// 4: TLS, CORS, response caches and direct responses. Certificates, per-host TLS settings, client-certificate requirements and https redirects on routes:
// a schema-3 proxy would ignore a route's client-certificate requirement and serve it open, to anyone, on any port.
// Backends' own TLS settings (CA bundle, server name, insecureSkipVerify), which a schema-3 proxy would drop (verifying
// against the wrong CAs and name), and CORS per route (`cors`, which the WebSocket Origin check now reads in place of
// `websocket.allowOrigins`, so a schema-3 proxy would admit any Origin). Response caches per route (`cache`): a
// schema-3 proxy would forward every request, and one that cached by an older key could share entries between consumers.
// Direct responses and redirects (`directResponse`, `redirect`, routes without `backends`): a schema-3 proxy would
// refuse such a table (backends were required) or, worse, forward a mock meant to stand in for an unfinished service.
// `websocket.allowOrigins`, so a schema-3 proxy would admit any Origin).
// Request validation per route (`requestValidation`: a body JSON Schema, required headers and query parameters): a
// schema-3 proxy would forward every request unchecked to backends that rely on the gateway having refused bad ones.
export const TABLE_SCHEMA_VERSION = 4;

const lowerHeaderName = z.string().min(1).regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, 'header names are lower-case in the table');

export const tableEndpointSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});
export type TableEndpoint = z.output<typeof tableEndpointSchema>;

/**
 * How an https backend's certificate is verified. Without it an https backend trusts the system CAs and verifies its
 * Host header's name (hand-written tables); the compiler always writes it for https backends.
 */
export const tableBackendTlsSchema = z.object({
  /** PEM certificates, and nothing else (the compiler copies only CERTIFICATE blocks): the only CAs trusted. Absent: the system CAs. */
  caPem: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
  /** Sent as SNI (unless it is an IP address) and the name the certificate must carry. */
  serverName: z.string().min(1),
  /** true: any certificate is accepted. Only ever set by an explicit `insecureSkipVerify: true`. */
  insecureSkipVerify: z.boolean(),
});
export type TableBackendTls = z.output<typeof tableBackendTlsSchema>;

export const tableBackendSchema = z
  .object({
    /**
     * Stable id: "svc:<ns>/<name>:<port>" or "url:<origin><prefix>", followed for TLS settings other than the defaults
     * by ";tls", ";ca=<ns>/<secret>", ";sni=<name>", ";insecure", so two rules reaching one address differently get two.
     */
    id: z.string().min(1),
    protocol: z.enum(['http', 'https']),
    /** Prepended to the forwarded path ("" for none); never ends with "/". */
    pathPrefix: z.string(),
    /** Host header sent upstream; absent means the client's Host is kept. */
    hostHeader: z.string().optional(),
    endpoints: z.array(tableEndpointSchema),
    tls: tableBackendTlsSchema.optional(),
  })
  .refine((b) => b.tls === undefined || b.protocol === 'https', { message: 'tls settings on a backend that is not https', path: ['tls'] });
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

/** Where a credential is read from; header names lower-case, the prefix (e.g. "Bearer ") matched case-insensitively. */
export const tableCredentialSourceSchema = z.discriminatedUnion('from', [
  z.object({ from: z.literal('header'), name: lowerHeaderName, prefix: z.string() }),
  z.object({ from: z.literal('query'), name: z.string().min(1) }),
  z.object({ from: z.literal('cookie'), name: z.string().min(1) }),
]);
export type TableCredentialSource = z.output<typeof tableCredentialSourceSchema>;

export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** A public JWK: the compiler copies only public members, so no private key material reaches a proxy. */
export const tablePublicJwkSchema = z.object({
  kty: z.enum(['RSA', 'EC', 'OKP']),
  kid: z.string().optional(),
  use: z.string().optional(),
  alg: z.string().optional(),
  crv: z.string().optional(),
  n: z.string().optional(),
  e: z.string().optional(),
  x: z.string().optional(),
  y: z.string().optional(),
});
export type TablePublicJwk = z.output<typeof tablePublicJwkSchema>;

const authorizerId = z.string().min(1);

export const tableJwtAuthorizerSchema = z.object({
  /** "<namespace>/<name>" of the Authorizer. */
  id: authorizerId,
  type: z.literal('jwt'),
  issuer: z.string().min(1),
  audiences: z.array(z.string().min(1)).min(1),
  algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1),
  jwks: z.discriminatedUnion('source', [
    /** Fetched and cached by the proxy; `caPem` verifies an https URI (public certificates only). */
    z.object({ source: z.literal('uri'), uri: z.string().url(), caPem: z.string().optional(), cacheMs: z.number().int().positive() }),
    /** From a Secret, resolved by the controller. */
    z.object({ source: z.literal('inline'), keys: z.array(tablePublicJwkSchema) }),
  ]),
  token: tableCredentialSourceSchema,
  clockSkewMs: z.number().int().nonnegative(),
  /** Set upstream to the token's `sub` (removed from the client's request first). */
  consumerHeader: lowerHeaderName,
  /** [claim, lower-case header]: the header is always removed from the client's request first. */
  claimsToHeaders: z.array(z.tuple([z.string().min(1), lowerHeaderName])),
});
export type TableJwtAuthorizer = z.output<typeof tableJwtAuthorizerSchema>;

export const tableApiKeyAuthorizerSchema = z.object({
  id: authorizerId,
  type: z.literal('apiKey'),
  key: tableCredentialSourceSchema,
  /** Set on the upstream request to the consumer's name (removed from the client's request first). */
  consumerHeader: lowerHeaderName,
  /** Hex; the proxy looks a key up by sha256(salt bytes ‖ key bytes). Keys themselves never reach the table. */
  salt: z.string().regex(/^[0-9a-f]{32}$/),
  /** Sorted by hash. */
  keys: z.array(z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/), consumer: z.string().min(1), plan: z.string().min(1).optional() })),
});
export type TableApiKeyAuthorizer = z.output<typeof tableApiKeyAuthorizerSchema>;

export const tableExternalAuthorizerSchema = z.object({
  id: authorizerId,
  type: z.literal('external'),
  /** Where the decision request is POSTed. */
  url: z.string().url(),
  /** The request parts that identify the caller; with the route id they key the decision cache. */
  identitySources: z.array(tableCredentialSourceSchema).min(1),
  /** Lower-case headers of an allow answer copied onto the upstream request (removed from the client's first). */
  contextHeaders: z.array(lowerHeaderName),
  /** Header naming the consumer upstream (removed from the client's request first). */
  consumerHeader: lowerHeaderName,
  resultTtlMs: z.number().int().nonnegative(),
  timeoutMs: z.number().int().positive(),
  failureMode: z.enum(['deny', 'allow']),
});
export type TableExternalAuthorizer = z.output<typeof tableExternalAuthorizerSchema>;

export const tableAuthorizerSchema = z.discriminatedUnion('type', [tableJwtAuthorizerSchema, tableApiKeyAuthorizerSchema, tableExternalAuthorizerSchema]);
export type TableAuthorizer = z.output<typeof tableAuthorizerSchema>;

/** A route's use of an Authorizer: which one, and what a caller it authenticates must also have (else 403). */
export const tableRouteAuthSchema = z.object({
  /** An id in the table's authorizers; a route naming one the table lacks answers 500 and is never forwarded. */
  authorizer: authorizerId,
  /** Every one must be granted (JWT `scope` / `scp`). */
  scopes: z.array(z.string().min(1)),
  /** [claim, required value] pairs. */
  claims: z.array(z.tuple([z.string().min(1), z.string()])),
});
export type TableRouteAuth = z.output<typeof tableRouteAuthSchema>;

/** Client address rules: refused (403) when in `deny`, or when `allow` is not empty and the address is not in it. */
export const tableClientIpRulesSchema = z.object({
  allow: z.array(z.string().min(1)),
  deny: z.array(z.string().min(1)),
});
export type TableClientIpRules = z.output<typeof tableClientIpRulesSchema>;

/** One part of a limit's key; a part the request lacks counts as the shared "unknown" value, never as no limit. */
export const tableLimitKeyPartSchema = z.discriminatedUnion('type', [
  /** The client's address (the trusted-proxy rule of the authorizers applies). */
  z.object({ type: z.literal('clientIp') }),
  z.object({ type: z.literal('header'), name: lowerHeaderName }),
  /** A verified JWT claim of the consumer. */
  z.object({ type: z.literal('claim'), name: z.string().min(1) }),
  /** The authenticated consumer ("<authorizer id>/<name>"). */
  z.object({ type: z.literal('consumer') }),
  /** The ApiRoute rule ("<ns>/<name>/r<rule>"). */
  z.object({ type: z.literal('route') }),
]);
export type TableLimitKeyPart = z.output<typeof tableLimitKeyPartSchema>;

export const QUOTA_PERIODS = ['second', 'minute', 'hour', 'day', 'month'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

export const tableTokenBucketSchema = z.object({
  kind: z.literal('tokenBucket'),
  /** Tokens added per period. */
  rate: z.number().int().min(1),
  periodMs: z.number().int().min(1),
  /** Capacity: a full bucket admits this many at once. */
  burst: z.number().int().min(1),
});
export type TableTokenBucket = z.output<typeof tableTokenBucketSchema>;

export const tableQuotaSchema = z.object({
  kind: z.literal('quota'),
  /** Requests per calendar window. */
  limit: z.number().int().min(1),
  period: z.enum(QUOTA_PERIODS),
  /** IANA zone whose calendar the windows follow ("UTC" by default). */
  timeZone: z.string().min(1),
});
export type TableQuota = z.output<typeof tableQuotaSchema>;

export const tableLimitSchema = z.object({
  /** Unique within its policy (or plan); names the counters, metrics and RateLimit header items. */
  name: z.string().min(1),
  key: z.array(tableLimitKeyPartSchema).min(1),
  /** local: each proxy counts on its own; global: the fleet shares one counter in Redis. */
  scope: z.enum(['local', 'global']),
  /** When Redis cannot answer a global limit: open falls back to local counters sized to 1/fleet, closed answers 503. */
  failureMode: z.enum(['open', 'closed']),
  rule: z.discriminatedUnion('kind', [tableTokenBucketSchema, tableQuotaSchema]),
});
export type TableLimit = z.output<typeof tableLimitSchema>;

export const tableRatePolicySchema = z.object({
  /** "<namespace>/<name>" of the RatePolicy. Its counters are shared by every route naming it. */
  id: z.string().min(1),
  /** Limits every caller gets. */
  limits: z.array(tableLimitSchema),
  /** Usage plans: a consumer whose plan (from its API key Secret) is listed here also gets that plan's limits. */
  plans: z.array(z.object({ name: z.string().min(1), limits: z.array(tableLimitSchema).min(1) })),
  /** The plan for callers whose plan is not listed (no plan, a JWT caller, an anonymous one); none when absent. */
  defaultPlan: z.string().min(1).optional(),
  /** When responses carry the RateLimit-Policy and RateLimit fields (429s always carry Retry-After). */
  headers: z.enum(['always', 'limited', 'never']),
});
export type TableRatePolicy = z.output<typeof tableRatePolicySchema>;

/**
 * A route's WebSocket settings; a route without them answers an upgrade with 404. A message limit (either of the
 * two optional ones) makes the proxy parse frames instead of piping bytes. The route's `cors` origins, when set,
 * gate the handshake's Origin.
 */
export const tableWebSocketSchema = z.object({
  idleTimeoutMs: z.number().int().positive(),
  maxDurationMs: z.number().int().positive(),
  maxMessageBytes: z.number().int().positive().optional(),
  maxMessagesPerSecond: z.number().int().positive().optional(),
  closeOnExpiry: z.boolean(),
});
export type TableWebSocket = z.output<typeof tableWebSocketSchema>;

/**
 * A route's CORS policy (proxy/policy/cors). Origins are normalised by the compiler: lower-case, default ports
 * (http 80, https 443) dropped; each is exact ("https://app.example.com"), a subdomain wildcard
 * ("https://*.example.com", one or more labels), or "*" alone. "*" never comes with credentials: the proxy refuses
 * such a table rather than answer a credentialed request with "*" or a reflected origin.
 */
export const tableCorsSchema = z
  .object({
    allowOrigins: z.array(z.string().min(1)).min(1),
    /** Methods a preflight may ask for, case-sensitive as HTTP methods are. */
    allowMethods: z.array(z.string().min(1)).min(1),
    /** Lower-case; "*" admits any header but authorization. */
    allowHeaders: z.array(lowerHeaderName),
    exposeHeaders: z.array(lowerHeaderName),
    allowCredentials: z.boolean(),
    maxAgeSeconds: z.number().int().nonnegative().optional(),
  })
  .refine((c) => !(c.allowCredentials && c.allowOrigins.includes('*')), { message: 'allowCredentials with the "*" origin', path: ['allowOrigins'] });
export type TableCors = z.output<typeof tableCorsSchema>;

/**
 * A certificate and its private key, from a `kubernetes.io/tls` Secret: "<ns>/<name>". The compiler checked the pair
 * (it parses, and the key matches the certificate). The only private key material in the table (its file is 0600 and
 * /debug redacts it).
 */
export const tableCertificateSchema = z.object({
  id: z.string().min(1),
  certPem: z.string().min(1),
  keyPem: z.string().min(1),
});
export type TableCertificate = z.output<typeof tableCertificateSchema>;

/** A route's client-certificate requirement: the CA bundle (by its Secret's id) that must have verified the client. */
export const tableClientCertificateSchema = z.object({
  /** "<ns>/<name>" of the CA Secret; the request's TLS connection must have been verified against this bundle. */
  ca: z.string().min(1),
  /** required: refused (403) without such a certificate; optional: served, with the identity only when verified. */
  mode: z.enum(['required', 'optional']),
});
export type TableClientCertificate = z.output<typeof tableClientCertificateSchema>;

/**
 * What the HTTPS listener does for one SNI host: exact ("api.example.com"), wildcard ("*.example.com", one label) or
 * "*" (the default: any other name, and clients that send none). A name that matches no entry is refused at the
 * handshake.
 */
export const tableTlsHostSchema = z.object({
  id: z.string().min(1),
  /** An id in the table's certificates; null (or an id the table lacks): no usable certificate, the handshake is refused. */
  certificate: z.string().min(1).nullable(),
  /** Client certificates are asked for and verified against this CA bundle (PEM). */
  clientCa: z.object({ id: z.string().min(1), caPem: z.string().min(1) }).optional(),
});
export type TableTlsHost = z.output<typeof tableTlsHostSchema>;

/**
 * A rule's response cache (proxy/cache). Present only with a TTL above zero. The compiler fills every default in and
 * sorts the lists, so equal settings compile the same.
 */
export const tableCacheSchema = z.object({
  /** "<ns>/<name>/r<rule>": every match of the rule shares its entries; the first part of every key (purge by route). */
  id: z.string().min(1),
  ttlMs: z.number().int().min(1).max(3_600_000),
  /** Lower-case request headers whose values are part of the key, sorted. */
  varyHeaders: z.array(lowerHeaderName),
  /** Query parameters in the key, sorted; absent: the whole query string is. */
  queryParams: z.array(z.string().min(1)).optional(),
  maxEntryBytes: z.number().int().positive(),
  /** memory: this proxy's LRU; redis: the fleet's shared tier. */
  storage: z.enum(['memory', 'redis']),
  /** Present when callers may skip and refresh the cache (Cache-Control: max-age=0), with the scope they need if any. */
  clientInvalidation: z.object({ scope: z.string().min(1).optional() }).optional(),
  /** The ApiRoute's spec.cacheEpoch: part of every key, so a new one leaves the old entries unreachable (a purge). */
  epoch: z.string().min(1).optional(),
});
export type TableCache = z.output<typeof tableCacheSchema>;
// --- Request validation (proxy/validation) ---

/**
 * A route's request validation. `bodySchema` is the JSON Schema as written (the compiler checked it compiles; the
 * proxy compiles it once per distinct schema, and refuses a table with one that does not).
 */
export const tableRequestValidationSchema = z.object({
  bodySchema: z.record(z.string(), z.unknown()).optional(),
  /** Lower-case; each must be present and not empty. */
  requiredHeaders: z.array(lowerHeaderName),
  /** Case-sensitive; each must be present and not empty. */
  requiredQuery: z.array(z.string().min(1)),
});
export type TableRequestValidation = z.output<typeof tableRequestValidationSchema>;

// --- end of request validation ---

/** Header values Node sends as they are: visible ASCII and obs-text, space and tab (no CR, LF or other controls). */
const HEADER_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * A route's own answer (docs/direct-responses.md), given after its policies. Header values and the body are templates
 * the proxy parses once per table (proxy/direct/response-template.ts); `escape` says how substituted values are
 * escaped in the body, chosen by the compiler from the content type.
 */
export const tableDirectResponseSchema = z
  .object({
    status: z.number().int().min(200).max(599),
    /** [lower-case name, value template], sorted; never content-length or hop-by-hop fields. */
    headers: z.array(z.tuple([lowerHeaderName, z.string().regex(HEADER_VALUE_RE, 'header values hold no control characters')])),
    /** The body template; absent: an empty body. */
    body: z.string().optional(),
    escape: z.enum(['json', 'html', 'none']),
  })
  .superRefine((d, ctx) => {
    for (const [i, [name, value]] of d.headers.entries()) {
      if (FRAMING_HEADERS.has(name)) ctx.addIssue({ code: 'custom', message: `${name} is set by the proxy`, path: ['headers', i] });
      const t = parseTemplate(value, 'header');
      if (!t.ok) ctx.addIssue({ code: 'custom', message: t.error, path: ['headers', i] });
    }
    if (d.body !== undefined) {
      const t = parseTemplate(d.body, d.escape);
      if (!t.ok) ctx.addIssue({ code: 'custom', message: t.error, path: ['body'] });
    }
  });
export type TableDirectResponse = z.output<typeof tableDirectResponseSchema>;

/** Fields a direct response may not set: the proxy frames the response itself. */
export const FRAMING_HEADERS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection']);

/** A route's redirect: Location is the request's URL with these parts replaced, query kept. */
export const tableRedirectSchema = z.object({
  statusCode: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]),
  scheme: z.enum(['http', 'https']).optional(),
  hostname: z.string().min(1).regex(/^[a-z0-9.-]+$/).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  /** The new path, from the client's (basePath included, never stripped); absent keeps it. */
  path: tableRewriteSchema.optional(),
});
export type TableRedirect = z.output<typeof tableRedirectSchema>;

/** Exactly one action per route, and forwarding settings only on routes that forward. */
function routeActionProblem(r: { backends?: unknown; directResponse?: unknown; redirect?: unknown; canary?: unknown; rewrite?: unknown; websocket?: unknown; cache?: unknown }): string | null {
  const actions = Number(r.backends !== undefined) + Number(r.directResponse !== undefined) + Number(r.redirect !== undefined);
  if (actions !== 1) return 'a route has exactly one of backends, directResponse or redirect';
  if (r.backends === undefined && (r.canary !== undefined || r.rewrite !== undefined || r.websocket !== undefined || r.cache !== undefined)) return 'canary, rewrite, websocket and cache need backends';
  return null;
}

export const tableRouteSchema = z
  .object({
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
  /** Where the route forwards; absent on a route that answers itself (directResponse or redirect, exactly one). */
  backends: z.array(weightedBackendSchema).min(1).optional(),
  directResponse: tableDirectResponseSchema.optional(),
  redirect: tableRedirectSchema.optional(),
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
  clientIp: tableClientIpRulesSchema.optional(),
  auth: tableRouteAuthSchema.optional(),
  /** Ids in the table's ratePolicies, every one checked (the most restrictive decides); a missing one answers 500. */
  ratePolicies: z.array(z.string().min(1)).min(1).optional(),
  /** Present when the rule enables WebSocket upgrades. */
  websocket: tableWebSocketSchema.optional(),
  /** Present when the rule (or its ApiRoute) sets CORS: preflights are answered by the proxy, responses get CORS headers. */
  cors: tableCorsSchema.optional(),
  /** On the plain HTTP port this route answers with a redirect to https (before any policy). */
  httpsRedirect: z.union([z.literal(301), z.literal(308)]).optional(),
  /** Present when the ApiRoute sets spec.tls.clientCertificate (on the plain port such a route is refused or redirected). */
  clientCertificate: tableClientCertificateSchema.optional(),
  /** Present when the rule caches answers (after its authorizer and rate limits: a hit is still authorized and counted). */
  cache: tableCacheSchema.optional(),
  /** Present when the rule validates requests (after client IP rules, authorization and rate limits). */
  requestValidation: tableRequestValidationSchema.optional(),
})
  .superRefine((r, ctx) => {
    const problem = routeActionProblem(r);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform(shareRouteParts);
export type TableRoute = z.output<typeof tableRouteSchema>;

export const routingTableSchema = z.object({
  schema: z.literal(TABLE_SCHEMA_VERSION),
  /** Content hash of everything else in the table; equal tables have equal versions. */
  version: z.string().min(1),
  /** In precedence order for equal matches: the conflict-resolution order of their resources. */
  routes: z.array(tableRouteSchema),
  /** Sorted by id. */
  backends: z.array(tableBackendSchema),
  /** The Authorizers some route uses, sorted by id. */
  authorizers: z.array(tableAuthorizerSchema),
  /** The RatePolicies some route uses, sorted by id. */
  ratePolicies: z.array(tableRatePolicySchema),
  /** The certificates some TLS host uses, sorted by id. */
  certificates: z.array(tableCertificateSchema),
  /** The HTTPS listener's hosts, sorted by id. */
  tlsHosts: z.array(tableTlsHostSchema),
});
export type RoutingTable = z.output<typeof routingTableSchema>;

/** Defaults the compiler fills in when a rule sets nothing. */
export const ROUTE_DEFAULTS = {
  connectMs: 5_000,
  requestMs: 30_000,
  idleMs: 60_000,
  retryAttempts: 2,
  maxBodyBytes: 10 * 1024 * 1024,
  /** AWS API Gateway's WebSocket idle timeout and maximum connection duration. */
  websocketIdleMs: 10 * 60_000,
  websocketMaxDurationMs: 2 * 3_600_000,
  /** A cache block without ttl (5 minutes, as AWS) or maxEntrySize (1 MiB). */
  cacheTtlMs: 300_000,
  cacheMaxEntryBytes: 1024 * 1024,
} as const;

// ApiRoute: hosts, an optional basePath, and rules that send matching requests to weighted backends.
import { z } from 'zod';
import { withRules } from './rule.ts';
import { isCidr } from './cidr.ts';
import { durationSchema, parseDurationMs, sizeSchema } from './quantities.ts';
import { API_VERSION, localRefSchema, metadataSchema, objectNameSchema, statusSchema } from './metadata.ts';

const HOST_RE = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;

export const hostSchema = z
  .string()
  .max(253)
  .regex(HOST_RE, 'must be a lowercase hostname, optionally starting with "*." for a wildcard');

export const headerNameSchema = z.string().min(1).max(256).regex(HEADER_NAME_RE, 'must be a valid HTTP header name');
export const methodSchema = z.enum(METHODS);

export const pathMatchSchema = withRules(
  z.object({
    type: z.enum(['Exact', 'Prefix', 'Template', 'Regex']).default('Prefix'),
    value: z.string().min(1).max(1024),
  }),
  [
    {
      cel: "self.type == 'Regex' || self.value.startsWith('/')",
      message: 'path value must start with "/" (except for type Regex)',
      path: ['value'],
      check: (p) => p.type === 'Regex' || p.value.startsWith('/'),
    },
  ],
);

const valueMatchType = z.enum(['Exact', 'Regex', 'Present']).default('Exact');
const valueMatchRules = [
  {
    cel: "self.type == 'Present' || has(self.value)",
    message: 'value is required unless type is Present',
    path: ['value'],
    check: (m: { type: string; value?: string | undefined }) => m.type === 'Present' || m.value !== undefined,
  },
];

export const headerMatchSchema = withRules(
  z.object({ name: headerNameSchema, type: valueMatchType, value: z.string().max(4096).optional() }),
  valueMatchRules,
);

export const queryMatchSchema = withRules(
  z.object({ name: z.string().min(1).max(256), type: valueMatchType, value: z.string().max(4096).optional() }),
  valueMatchRules,
);

export const routeMatchSchema = z.object({
  path: pathMatchSchema.optional(),
  methods: z.array(methodSchema).max(9).optional(),
  headers: z.array(headerMatchSchema).max(16).optional(),
  query: z.array(queryMatchSchema).max(16).optional(),
});

export const serviceRefSchema = z.object({
  name: objectNameSchema,
  /** A port number, or the name of a Service port. */
  port: z.union([z.number().int().min(1).max(65535), z.string().min(1).max(15)]),
});

const URL_RE = /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;

/**
 * TLS to the backend (docs/backend-tls.md). On a service backend its presence makes the gateway speak TLS; a url
 * backend speaks TLS when its scheme is https, with these settings when given. Verification is always on unless
 * `insecureSkipVerify` is set to true.
 */
export const backendTlsSchema = withRules(
  z.object({
    /** A Secret in the ApiRoute's namespace whose `ca.crt` holds the PEM CA bundle; only it is trusted. Default: the system CAs. */
    caSecretName: objectNameSchema.optional(),
    /** Sent as SNI and verified against the certificate. Default: the URL's host, or <service>.<namespace>.svc. */
    serverName: z
      .string()
      .max(253)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase DNS name')
      .optional(),
    /** Accept any certificate (no chain, name or expiry check): for tests only; the ApiRoute's status warns about it. */
    insecureSkipVerify: z.boolean().optional(),
  }),
  [
    {
      cel: '!(has(self.caSecretName) && has(self.insecureSkipVerify) && self.insecureSkipVerify)',
      message: 'caSecretName and insecureSkipVerify contradict each other: set at most one',
      path: ['insecureSkipVerify'],
      check: (t) => t.caSecretName === undefined || t.insecureSkipVerify !== true,
    },
  ],
);

export const backendSchema = withRules(
  z.object({
    service: serviceRefSchema.optional(),
    /** An external or standalone backend: scheme, host, port and an optional path prefix. */
    url: z.string().max(2048).regex(URL_RE, 'must be an http:// or https:// URL without query or fragment').optional(),
    weight: z.number().int().min(0).max(10000).default(1),
    tls: backendTlsSchema.optional(),
  }),
  [
    {
      cel: 'has(self.service) != has(self.url)',
      message: 'a backend sets exactly one of service or url',
      check: (b) => (b.service === undefined) !== (b.url === undefined),
    },
    {
      cel: "!has(self.tls) || !has(self.url) || self.url.startsWith('https://')",
      message: 'tls applies to a service backend or an https:// url',
      path: ['tls'],
      check: (b) => b.tls === undefined || b.url === undefined || b.url.startsWith('https://'),
    },
  ],
);

const backendsRules = [
  {
    cel: 'self.exists(b, b.weight > 0)',
    message: 'at least one backend must have a weight above zero',
    check: (bs: { weight: number }[]) => bs.some((b) => b.weight > 0),
  },
];
export const backendsSchema = withRules(z.array(backendSchema).min(1, 'at least one backend is required').max(16), backendsRules);

export const canarySchema = withRules(
  z.object({
    header: z.object({ name: headerNameSchema, value: z.string().min(1).max(256) }).optional(),
    cookie: z.object({ name: z.string().min(1).max(256), value: z.string().min(1).max(256) }).optional(),
    backends: backendsSchema,
  }),
  [
    {
      cel: 'has(self.header) || has(self.cookie)',
      message: 'a canary needs a header or a cookie to select it',
      check: (c) => c.header !== undefined || c.cookie !== undefined,
    },
  ],
);

export const rewriteSchema = withRules(
  z.object({
    /** Replace the matched prefix (Prefix matches only); "/" strips it. */
    replacePrefix: z.string().startsWith('/').max(1024).optional(),
    /** Replace the whole path; `{param}` is filled from a Template match. */
    replacePath: z.string().startsWith('/').max(1024).optional(),
  }),
  [
    {
      cel: '!(has(self.replacePrefix) && has(self.replacePath))',
      message: 'set at most one of replacePrefix and replacePath',
      check: (r) => r.replacePrefix === undefined || r.replacePath === undefined,
    },
  ],
);

export const headerChangesSchema = z.object({
  set: z.record(headerNameSchema, z.string().max(4096)).optional(),
  add: z.record(headerNameSchema, z.string().max(4096)).optional(),
  remove: z.array(headerNameSchema).max(32).optional(),
});

export const timeoutsSchema = z.object({
  connect: durationSchema.optional(),
  request: durationSchema.optional(),
  idle: durationSchema.optional(),
});

export const retriesSchema = z.object({
  /** Extra attempts for idempotent requests that failed to connect. */
  attempts: z.number().int().min(0).max(5).default(2),
});

/**
 * A CORS origin as browsers send it: scheme://host[:port], no path. `https://*.example.com` admits any subdomain of
 * example.com at any depth (one or more labels), never example.com itself; "*" admits every origin.
 */
const ORIGIN_RE =
  /^(\*|[a-zA-Z][a-zA-Z0-9+.-]*:\/\/((\*\.)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(:[0-9]{1,5})?)$/;

export const corsOriginSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(ORIGIN_RE, 'must be "*" or an origin scheme://host[:port] without a path, such as "https://app.example.com" or "https://*.example.com"')
  .meta({ pattern: ORIGIN_RE.source });

/** Cross-origin requests from browsers (docs/apiroute.md#cors); the gateway answers preflights itself. */
export const corsSchema = withRules(
  z.object({
    /** Exact origins, wildcard-subdomain origins ("https://*.example.com"), or "*". */
    allowOrigins: z.array(corsOriginSchema).min(1).max(64),
    /** Methods a preflight may ask for; default GET, HEAD and POST (the ones browsers send without asking). */
    allowMethods: z.array(methodSchema).max(9).optional(),
    /** Request headers a preflight may ask for (case-insensitive); "*" admits any but Authorization, which must be named. */
    allowHeaders: z.array(headerNameSchema).max(64).optional(),
    /** Response headers the page's script may read beyond the safelisted ones. */
    exposeHeaders: z.array(headerNameSchema).max(64).optional(),
    /** Cookies and Authorization may be sent; the answer then names the origin, never "*". */
    allowCredentials: z.boolean().optional(),
    /** How long a browser may cache a preflight answer (whole seconds; Chromium caps it at 2h). */
    maxAge: durationSchema.optional(),
  }),
  [
    {
      cel: "!(has(self.allowCredentials) && self.allowCredentials) || !self.allowOrigins.exists(o, o == '*')",
      message: 'allowCredentials cannot be used with the "*" origin: list the origins that may send credentials',
      path: ['allowOrigins'],
      check: (c) => c.allowCredentials !== true || !c.allowOrigins.includes('*'),
    },
  ],
);

// ---- response cache (docs/caching.md) ----

/** Longest cache TTL, as AWS API Gateway's (3600 s). */
export const CACHE_MAX_TTL_MS = 3_600_000;

/**
 * A rule's response cache: GET and HEAD answers stored for `ttl` (an upstream's shorter max-age/s-maxage wins; its
 * no-store, private, no-cache, Set-Cookie and Vary: * are never stored), keyed by method, host, path, the query (all
 * of it, or `queryParams`), the `varyHeaders` values and, on a rule with an authorizer, the consumer.
 */
export const cacheSchema = withRules(
  z.object({
    /** How long an answer is served from the cache, 0s (off) to 1h; default 5m. */
    ttl: durationSchema.optional(),
    /** Request headers whose values are part of the key (e.g. Accept-Language). */
    varyHeaders: z.array(headerNameSchema).max(16).optional(),
    /** The query parameters that are part of the key (others are ignored); default: the whole query string. */
    queryParams: z.array(z.string().min(1).max(256)).max(32).optional(),
    /** Largest answer stored (default 1Mi); a larger one streams through to the client and is not stored. */
    maxEntrySize: sizeSchema.optional(),
    /** Memory (default): each proxy its own LRU. Redis: the fleet shares entries (the proxies' --redis-url). */
    storage: z.enum(['Memory', 'Redis']).optional(),
    /** true: the same as storage: Redis. */
    shared: z.boolean().optional(),
    /** A caller's `Cache-Control: max-age=0` (or no-cache) skips the cache and refreshes the entry; else it is ignored. */
    allowClientInvalidation: z.boolean().optional(),
    /** With allowClientInvalidation: only callers granted this scope (JWT scope/scp) may invalidate. */
    invalidationScope: z.string().min(1).max(256).optional(),
  }),
  [
    {
      cel: "!has(self.ttl) || duration(self.ttl) <= duration('1h')",
      message: 'ttl must be at most 1h (3600s)',
      path: ['ttl'],
      check: (c) => c.ttl === undefined || parseDurationMs(c.ttl) <= CACHE_MAX_TTL_MS,
    },
    {
      cel: "!(has(self.shared) && self.shared && has(self.storage) && self.storage == 'Memory')",
      message: 'shared: true and storage: Memory contradict each other: set at most one',
      path: ['shared'],
      check: (c) => !(c.shared === true && c.storage === 'Memory'),
    },
    {
      cel: '!has(self.invalidationScope) || (has(self.allowClientInvalidation) && self.allowClientInvalidation)',
      message: 'invalidationScope needs allowClientInvalidation: true',
      path: ['invalidationScope'],
      check: (c) => c.invalidationScope === undefined || c.allowClientInvalidation === true,
    },
  ],
);

/**
 * WebSocket upgrades on a rule (docs/websockets.md). A rule without this block answers an upgrade with 404. Limits on
 * messages (`maxMessageSize`, `maxMessagesPerSecond`) make the gateway parse frames; the others cost no parsing.
 */
export const websocketSchema = z.object({
  /** Upgrades are forwarded; `false` keeps the block but refuses them (404), as a rule without it does. */
  enabled: z.boolean().default(true),
  /** Largest message either side may send (bytes after any decompression); a larger one closes with 1009. */
  maxMessageSize: sizeSchema.optional(),
  /** Messages per second a client may send on one connection (a burst of one second's worth); more closes with 1008. */
  maxMessagesPerSecond: z.number().int().min(1).max(1_000_000).optional(),
  /** No byte either way for this long closes the connection with 1001 (default 10m, as AWS). */
  idleTimeout: durationSchema.optional(),
  /** A connection is closed with 1001 after this long, whatever it does (default 2h, as AWS). */
  maxDuration: durationSchema.optional(),
  /** With an Authorizer whose credential expires (a JWT's `exp`), close the connection with 1008 at that time. */
  closeOnExpiry: z.boolean().default(false),
});

// --- Request validation (docs/validation.md) ---

/** A JSON Schema, kept as written (the API server stores it unpruned; the compiler checks it compiles). */
const jsonSchemaObject = z.record(z.string(), z.unknown()).meta({ 'x-kubernetes-preserve-unknown-fields': true });

/** A key of a ConfigMap's data (what Kubernetes allows: letters, digits, "-", "_" and "."). */
const configMapKeySchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, 'must be a ConfigMap key (letters, digits, "-", "_", ".")');

/**
 * A JSON Schema kept in a ConfigMap of the ApiRoute's namespace (in standalone mode, a ConfigMap manifest in the config
 * folder): the key's value is the schema as JSON text. In a cluster the ConfigMap carries the --configmap-selector label.
 */
export const bodySchemaRefSchema = z.object({
  configMap: objectNameSchema,
  key: configMapKeySchema,
});

/**
 * AWS API Gateway's request validators: the body against a JSON Schema (draft-04, draft-07 or 2020-12), required
 * headers and query parameters. A failing request is answered 400 (or 413/415) and never reaches a backend.
 */
export const requestValidationSchema = withRules(
  z.object({
    /** The JSON Schema the body must match; the body must then be JSON (Content-Type application/json or *+json). */
    bodySchema: jsonSchemaObject.optional(),
    /** The same, read from a ConfigMap key holding the schema as JSON (exclusive with bodySchema). */
    bodySchemaRef: bodySchemaRefSchema.optional(),
    /** Headers that must be present and not empty (case-insensitive). */
    requiredHeaders: z.array(headerNameSchema).max(32).optional(),
    /** Query parameters that must be present and not empty (case-sensitive). */
    requiredQuery: z.array(z.string().min(1).max(256)).max(32).optional(),
  }),
  [
    {
      cel: 'has(self.bodySchema) || has(self.bodySchemaRef) || has(self.requiredHeaders) || has(self.requiredQuery)',
      message: 'set at least one of bodySchema, bodySchemaRef, requiredHeaders and requiredQuery',
      check: (v) => v.bodySchema !== undefined || v.bodySchemaRef !== undefined || v.requiredHeaders !== undefined || v.requiredQuery !== undefined,
    },
    {
      cel: '!(has(self.bodySchema) && has(self.bodySchemaRef))',
      message: 'set at most one of bodySchema and bodySchemaRef',
      check: (v) => v.bodySchema === undefined || v.bodySchemaRef === undefined,
    },
  ],
);

// --- end of request validation ---

export { isCidr };

const cidrSchema = z
  .string()
  .max(64)
  .refine(isCidr, 'must be a CIDR such as "10.0.0.0/8" or "2001:db8::/32"')
  .meta({ format: 'cidr' });

/** Client address rules (AWS resource policies' IP conditions): deny wins; a non-empty allow list admits only its ranges. */
export const clientIpSchema = z.object({
  allowCIDRs: z.array(cidrSchema).max(64).optional(),
  denyCIDRs: z.array(cidrSchema).max(64).optional(),
});

export const authorizerRefSchema = z.object({
  name: objectNameSchema,
  scopes: z.array(z.string().min(1).max(256)).max(32).optional(),
  claims: z.record(z.string().min(1).max(256), z.string().max(1024)).optional(),
});


// ── Direct responses and redirects (docs/direct-responses.md): a rule that answers by itself instead of forwarding. ──

/** Placeholders a direct response's body and header values may hold; `$${` writes a literal `${`. */
export const DIRECT_RESPONSE_PLACEHOLDERS = ['${request.path}', '${request.header.NAME}', '${request.query.NAME}', '${consumer}'] as const;

/** A body file's path: relative to the config folder and staying in it. */
function isContainedPath(file: string): boolean {
  return !file.startsWith('/') && !file.includes('\\') && !file.split('/').includes('..');
}

export const directResponseBodySchema = withRules(
  z.object({
    /** The body itself (placeholders allowed). */
    inline: z.string().max(65536).optional(),
    /** Standalone mode only: a file in the config folder (a relative path), re-read whenever it changes. */
    file: z.string().min(1).max(1024).optional(),
    /** A key of a ConfigMap in the ApiRoute's namespace (placeholders allowed), re-read whenever it changes. */
    configMap: z.object({ name: objectNameSchema, key: configMapKeySchema }).optional(),
  }),
  [
    {
      cel: '(has(self.inline) ? 1 : 0) + (has(self.file) ? 1 : 0) + (has(self.configMap) ? 1 : 0) == 1',
      message: 'a body sets exactly one of inline, file or configMap',
      check: (b) => Number(b.inline !== undefined) + Number(b.file !== undefined) + Number(b.configMap !== undefined) === 1,
    },
    {
      cel: "!has(self.file) || !(self.file.startsWith('/') || self.file.contains('\\\\') || self.file == '..' || self.file.startsWith('../') || self.file.endsWith('/..') || self.file.contains('/../'))",
      message: 'file must be a path relative to the config folder that stays inside it (no leading "/", no "..")',
      path: ['file'],
      check: (b) => b.file === undefined || isContainedPath(b.file),
    },
  ],
);

/**
 * The rule answers with this response (AWS mock integrations; Envoy Gateway's direct response), after the rule's client
 * IP rules, authorizer and rate limits. Content-Type picks how substituted values are escaped in the body.
 */
export const directResponseSchema = withRules(
  z.object({
    status: z.number().int().min(200).max(599),
    /** Response headers; values may hold placeholders (control characters in substituted values are percent-encoded). */
    headers: z.record(headerNameSchema, z.string().max(4096)).optional(),
    body: directResponseBodySchema.optional(),
  }),
  [
    {
      cel: '!has(self.body) || (self.status != 204 && self.status != 304)',
      message: 'a 204 or 304 response has no body',
      path: ['body'],
      check: (d) => d.body === undefined || (d.status !== 204 && d.status !== 304),
    },
  ],
);

const REDIRECT_CODES = [301, 302, 303, 307, 308] as const;

/** The rule answers with a redirect (Gateway API's RequestRedirect filter); the query string is kept. */
export const redirectSchema = withRules(
  z.object({
    statusCode: z
      .number()
      .int()
      .refine((n) => (REDIRECT_CODES as readonly number[]).includes(n), 'must be 301, 302, 303, 307 or 308')
      .default(302)
      .meta({ enum: [...REDIRECT_CODES] }),
    /** Default: the request's scheme. */
    scheme: z.enum(['http', 'https']).optional(),
    /** Default: the request's host. */
    hostname: z
      .string()
      .max(253)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase DNS name')
      .optional(),
    /** Default: the request's port, or the scheme's well-known port when scheme or hostname is set. */
    port: z.number().int().min(1).max(65535).optional(),
    /** Replace the whole path; `{param}` is filled from a Template match. */
    replacePath: z.string().startsWith('/').max(1024).optional(),
    /** Replace the matched prefix (Prefix matches only); "/" strips it. */
    replacePrefix: z.string().startsWith('/').max(1024).optional(),
  }),
  [
    {
      cel: '!(has(self.replacePrefix) && has(self.replacePath))',
      message: 'set at most one of replacePrefix and replacePath',
      check: (r) => r.replacePrefix === undefined || r.replacePath === undefined,
    },
  ],
);

/** What a rule does with a request: forward it (backends), answer it (directResponse), or redirect it; exactly one. */
const ruleActionRules = [
  {
    cel: '(has(self.backends) ? 1 : 0) + (has(self.directResponse) ? 1 : 0) + (has(self.redirect) ? 1 : 0) == 1',
    message: 'a rule sets exactly one of backends, directResponse or redirect',
    check: (r: { backends?: unknown; directResponse?: unknown; redirect?: unknown }) =>
      Number(r.backends !== undefined) + Number(r.directResponse !== undefined) + Number(r.redirect !== undefined) === 1,
  },
  // A cache holds upstream answers: a rule that answers by itself has none to keep.
  ...(['canary', 'rewrite', 'websocket', 'cache'] as const).map((field) => ({
    cel: `!has(self.${field}) || has(self.backends)`,
    message: `${field} applies to rules with backends, not to directResponse or redirect`,
    path: [field],
    check: (r: { backends?: unknown; canary?: unknown; rewrite?: unknown; websocket?: unknown; cache?: unknown }) => r[field] === undefined || r.backends !== undefined,
  })),
];

const routeRuleFields = z.object({
  /** A name for the rule, used in status messages and metrics. */
  name: z.string().max(63).optional(),
  matches: z.array(routeMatchSchema).max(16).optional(),
  /** Where matching requests go; a rule without backends sets directResponse or redirect instead. */
  backends: backendsSchema.optional(),
  directResponse: directResponseSchema.optional(),
  redirect: redirectSchema.optional(),
  canary: canarySchema.optional(),
  rewrite: rewriteSchema.optional(),
  requestHeaders: headerChangesSchema.optional(),
  responseHeaders: headerChangesSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  retries: retriesSchema.optional(),
  maxBodySize: sizeSchema.optional(),
  cors: corsSchema.optional(),
  cache: cacheSchema.optional(),
  websocket: websocketSchema.optional(),
  authorizer: authorizerRefSchema.optional(),
  ratePolicies: z.array(localRefSchema).max(8).optional(),
  /** Replaces the ApiRoute's clientIp for this rule. */
  clientIp: clientIpSchema.optional(),
  /** Validate requests before they reach the backends (after authorization and rate limits). */
  requestValidation: requestValidationSchema.optional(),
});

/** A rule: matches, and exactly one of backends / directResponse / redirect (ruleActionRules). */
export const routeRuleSchema = withRules(routeRuleFields, ruleActionRules);

/**
 * TLS for the route's hosts on the gateway's HTTPS port (docs/tls.md). The certificate is chosen by SNI, so
 * `secretName` and `clientCertificate` need `hosts`; `httpsRedirect` works with or without them.
 */
export const apiRouteTlsSchema = z.object({
  /** A `kubernetes.io/tls` Secret in the route's namespace (keys tls.crt and tls.key), for all of the route's hosts. */
  secretName: objectNameSchema.optional(),
  /** Client certificates (mutual TLS) on the route's hosts, verified against a CA bundle. */
  clientCertificate: z
    .object({
      /** A Secret in the route's namespace whose key `ca.crt` holds the PEM CA bundle. */
      caSecretName: objectNameSchema,
      /** Required: a request without a certificate the CA verifies is refused (403). Optional: it goes on without an identity. */
      mode: z.enum(['Required', 'Optional']).default('Required'),
    })
    .optional(),
  /** Requests on the plain HTTP port are answered with a redirect to https (301 by default, or 308). */
  httpsRedirect: z
    .object({
      statusCode: z
        .number()
        .int()
        .refine((n) => n === 301 || n === 308, 'must be 301 or 308')
        .default(301)
        .meta({ enum: [301, 308] }),
    })
    .optional(),
});

export const apiRouteSpecSchema = z.object({
  /** Exact ("api.example.com") or wildcard ("*.example.com") hosts; empty means any host. */
  hosts: z.array(hostSchema).max(64).optional(),
  /** A stage or version prefix such as "/v1", matched before every rule's path. */
  basePath: z
    .string()
    .max(256)
    .regex(/^\/[^\s?#]*[^/\s?#]$/, 'basePath must start with "/" and must not end with "/"')
    .optional(),
  /** Whether the basePath is removed before forwarding (AWS stage semantics). */
  stripBasePath: z.boolean().default(true),
  /** Defaults for every rule that does not set its own. */
  authorizer: authorizerRefSchema.optional(),
  ratePolicies: z.array(localRefSchema).max(8).optional(),
  cors: corsSchema.optional(),
  clientIp: clientIpSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  tls: apiRouteTlsSchema.optional(),
  /**
   * Any text; changing it drops every answer the route's rules have cached, in every proxy and in Redis (docs/caching.md
   * "Purging"). A field, not an action: the change reaches every proxy the way any other change does.
   */
  cacheEpoch: z.string().min(1).max(64).optional(),
  rules: z.array(routeRuleSchema).min(1, 'at least one rule is required').max(64),
});
export type ApiRouteSpec = z.output<typeof apiRouteSpecSchema>;
export type RouteRule = z.output<typeof routeRuleSchema>;
export type RouteMatch = z.output<typeof routeMatchSchema>;
export type Backend = z.output<typeof backendSchema>;

export const apiRouteSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('ApiRoute'),
  metadata: metadataSchema,
  spec: apiRouteSpecSchema,
  status: statusSchema.optional(),
});
export type ApiRoute = z.output<typeof apiRouteSchema>;

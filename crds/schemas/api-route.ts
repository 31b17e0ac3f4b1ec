// ApiRoute: hosts, an optional basePath, and rules that send matching requests to weighted backends.
import { isIP } from 'node:net';
import { z } from 'zod';
import { withRules } from './rule.ts';
import { durationSchema, sizeSchema } from './quantities.ts';
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

export const backendSchema = withRules(
  z.object({
    service: serviceRefSchema.optional(),
    /** An external or standalone backend: scheme, host, port and an optional path prefix. */
    url: z.string().max(2048).regex(URL_RE, 'must be an http:// or https:// URL without query or fragment').optional(),
    weight: z.number().int().min(0).max(10000).default(1),
  }),
  [
    {
      cel: 'has(self.service) != has(self.url)',
      message: 'a backend sets exactly one of service or url',
      check: (b) => (b.service === undefined) !== (b.url === undefined),
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

export const corsSchema = z.object({
  allowOrigins: z.array(z.string().min(1).max(512)).min(1).max(64),
  allowMethods: z.array(methodSchema).max(9).optional(),
  allowHeaders: z.array(headerNameSchema).max(64).optional(),
  exposeHeaders: z.array(headerNameSchema).max(64).optional(),
  allowCredentials: z.boolean().optional(),
  maxAge: durationSchema.optional(),
});

export const cacheSchema = z.object({
  ttl: durationSchema,
  varyHeaders: z.array(headerNameSchema).max(16).optional(),
  maxEntrySize: sizeSchema.optional(),
});

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

/** "10.0.0.0/8", "2001:db8::/32": an address and a prefix length that fits it. */
export function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const family = isIP(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

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

export const routeRuleSchema = z.object({
  /** A name for the rule, used in status messages and metrics. */
  name: z.string().max(63).optional(),
  matches: z.array(routeMatchSchema).max(16).optional(),
  backends: backendsSchema,
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
});

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

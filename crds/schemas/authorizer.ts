// Authorizer: how a request proves who it is — a JWT, an API key, or an external HTTP decision service.
import { z } from 'zod';
import { withRules } from './rule.ts';
import { durationSchema } from './quantities.ts';
import { API_VERSION, metadataSchema, objectNameSchema, statusSchema } from './metadata.ts';
import { headerNameSchema, serviceRefSchema } from './api-route.ts';

const secretKeyRefSchema = z.object({ name: objectNameSchema, key: z.string().min(1).max(253) });

export const tokenLocationSchema = withRules(
  z.object({
    header: headerNameSchema.optional(),
    /** Stripped from the header value, e.g. "Bearer ". */
    prefix: z.string().max(64).optional(),
    query: z.string().min(1).max(256).optional(),
    cookie: z.string().min(1).max(256).optional(),
  }),
  [
    {
      cel: '[has(self.header), has(self.query), has(self.cookie)].filter(x, x).size() == 1',
      message: 'a token location sets exactly one of header, query or cookie',
      check: (l) => [l.header, l.query, l.cookie].filter((x) => x !== undefined).length === 1,
    },
  ],
);

const IDENTITY_SOURCE_RE = /^((header|query|cookie):)?[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const JWT_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export const jwtAuthorizerSchema = z.object({
  issuer: z.string().min(1).max(2048),
  audiences: z.array(z.string().min(1).max(2048)).min(1).max(16),
  jwks: withRules(
    z.object({
      uri: z.string().max(2048).regex(/^https?:\/\/[^\s/?#]+[^\s#]*$/, 'must be an http:// or https:// URL').optional(),
      /** A Secret key holding a JWKS (public keys; private members are never copied to proxies). */
      secretRef: secretKeyRefSchema.optional(),
      /** A Secret key holding the PEM CA bundle that verifies an https `uri` (default: the system CAs). */
      caSecretRef: secretKeyRefSchema.optional(),
      /** How long a fetched key set is trusted before it is refreshed. */
      cacheDuration: durationSchema.default('10m'),
    }),
    [
      {
        cel: 'has(self.uri) != has(self.secretRef)',
        message: 'jwks sets exactly one of uri or secretRef',
        check: (j) => (j.uri === undefined) !== (j.secretRef === undefined),
      },
      {
        cel: '!has(self.caSecretRef) || (has(self.uri) && self.uri.startsWith("https://"))',
        message: 'caSecretRef applies to an https uri only',
        path: ['caSecretRef'],
        check: (j) => j.caSecretRef === undefined || (j.uri?.startsWith('https://') ?? false),
      },
    ],
  ),
  algorithms: z.array(z.enum(JWT_ALGS)).min(1).max(10).default(['RS256']),
  tokenLocation: tokenLocationSchema.default({ header: 'authorization', prefix: 'Bearer ' }),
  clockSkew: durationSchema.default('30s'),
  /** Header set on the upstream request to the token's `sub`. */
  consumerHeader: headerNameSchema.default('x-consumer'),
  claimsToHeaders: z.array(z.object({ claim: z.string().min(1).max(256), header: headerNameSchema })).max(16).optional(),
});

export const apiKeyAuthorizerSchema = z.object({
  /** Secrets carrying these labels hold the keys; each Secret names its consumer. */
  secretSelector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
  location: tokenLocationSchema.default({ header: 'x-api-key' }),
  /** Header set on the upstream request to the consumer's name. */
  consumerHeader: headerNameSchema.default('x-consumer'),
});

export const externalAuthorizerSchema = withRules(
  z.object({
    url: z.string().max(2048).regex(/^https?:\/\/[^\s/?#]+[^\s#]*$/, 'must be an http:// or https:// URL').optional(),
    service: serviceRefSchema.extend({ path: z.string().startsWith('/').default('/') }).optional(),
    /**
     * Request parts that identify the caller, as "header:<name>", "query:<name>" or "cookie:<name>" (a bare name is a
     * header); they key the decision cache together with the route.
     */
    identitySources: z.array(z.string().min(1).max(263).regex(IDENTITY_SOURCE_RE, 'must be "header:<name>", "query:<name>", "cookie:<name>" or a header name')).min(1).max(8),
    /** Headers from an allow decision copied onto the upstream request. */
    contextHeaders: z.array(headerNameSchema).max(16).optional(),
    /** Header set on the upstream request to the consumer the answer names. */
    consumerHeader: headerNameSchema.default('x-consumer'),
    resultTtl: durationSchema.default('60s'),
    timeout: durationSchema.default('1s'),
    failureMode: z.enum(['Deny', 'Allow']).default('Deny'),
  }),
  [
    {
      cel: 'has(self.url) != has(self.service)',
      message: 'external sets exactly one of url or service',
      check: (e) => (e.url === undefined) !== (e.service === undefined),
    },
  ],
);

export const authorizerSpecSchema = withRules(
  z.object({
    type: z.enum(['JWT', 'APIKey', 'External']),
    jwt: jwtAuthorizerSchema.optional(),
    apiKey: apiKeyAuthorizerSchema.optional(),
    external: externalAuthorizerSchema.optional(),
  }),
  [
    {
      cel: "(self.type == 'JWT') == has(self.jwt) && (self.type == 'APIKey') == has(self.apiKey) && (self.type == 'External') == has(self.external)",
      message: 'set exactly the block that matches type: jwt for JWT, apiKey for APIKey, external for External',
      check: (s) =>
        (s.type === 'JWT') === (s.jwt !== undefined) &&
        (s.type === 'APIKey') === (s.apiKey !== undefined) &&
        (s.type === 'External') === (s.external !== undefined),
    },
  ],
);
export type AuthorizerSpec = z.output<typeof authorizerSpecSchema>;

export const authorizerSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Authorizer'),
  metadata: metadataSchema,
  spec: authorizerSpecSchema,
  status: statusSchema.optional(),
});
export type Authorizer = z.output<typeof authorizerSchema>;

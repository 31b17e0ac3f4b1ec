// RatePolicy: token buckets and calendar quotas, keyed by who is calling, enforced per proxy or fleet-wide.
import { z } from 'zod';
import { withRules } from './rule.ts';
import { durationSchema } from './quantities.ts';
import { API_VERSION, metadataSchema, statusSchema } from './metadata.ts';

export const limitKeyPartSchema = withRules(
  z.object({
    type: z.enum(['ClientIP', 'Header', 'JWTClaim', 'Consumer', 'Route']),
    /** The header or claim name, for Header and JWTClaim. */
    name: z.string().min(1).max(256).optional(),
  }),
  [
    {
      cel: "(self.type == 'Header' || self.type == 'JWTClaim') == has(self.name)",
      message: 'name is required for Header and JWTClaim keys and not allowed otherwise',
      path: ['name'],
      check: (k) => (k.type === 'Header' || k.type === 'JWTClaim') === (k.name !== undefined),
    },
  ],
);

export const limitSchema = withRules(
  z.object({
    name: z.string().min(1).max(63),
    key: z.array(limitKeyPartSchema).min(1).max(4),
    tokenBucket: z
      .object({
        rate: z.number().int().min(1).max(1_000_000_000),
        period: durationSchema.default('1s'),
        burst: z.number().int().min(1).max(1_000_000_000).optional(),
      })
      .optional(),
    /** A count per calendar window (Day from local midnight, Month from the 1st) in `timeZone`; Second/Minute/Hour are fixed windows on that clock. */
    quota: z
      .object({
        limit: z.number().int().min(1).max(1_000_000_000_000),
        period: z.enum(['Second', 'Minute', 'Hour', 'Day', 'Month']),
        /** An IANA time zone such as "Europe/Paris"; the windows follow its calendar, DST included. */
        timeZone: z.string().min(1).max(64).default('UTC'),
      })
      .optional(),
    scope: z.enum(['Local', 'Global']).default('Local'),
    /** What happens when Redis cannot be reached for a Global limit. */
    failureMode: z.enum(['Open', 'Closed']).default('Open'),
  }),
  [
    {
      cel: 'has(self.tokenBucket) != has(self.quota)',
      message: 'a limit sets exactly one of tokenBucket or quota',
      check: (l) => (l.tokenBucket === undefined) !== (l.quota === undefined),
    },
  ],
);

/** A usage plan (AWS's model): the limits a consumer gets when its API key Secret names this plan. */
export const usagePlanSchema = z.object({
  name: z.string().min(1).max(63),
  limits: z.array(limitSchema).min(1).max(16),
});

export const ratePolicySpecSchema = withRules(
  z.object({
    /** Limits every caller gets. */
    limits: z.array(limitSchema).max(16).optional(),
    /** Extra limits per usage plan, for consumers whose API key Secret names the plan. */
    plans: z.array(usagePlanSchema).max(32).optional(),
    /** The plan of callers whose plan is not in `plans` (no plan, a JWT or anonymous caller); none when unset. */
    defaultPlan: z.string().min(1).max(63).optional(),
    /** When responses carry the RateLimit-Policy and RateLimit header fields; a 429 always carries Retry-After. */
    responseHeaders: z.enum(['Always', 'WhenLimited', 'Never']).default('Always'),
  }),
  [
    {
      cel: '(has(self.limits) && size(self.limits) > 0) || (has(self.plans) && size(self.plans) > 0)',
      message: 'a RatePolicy needs limits or plans',
      check: (s) => (s.limits?.length ?? 0) > 0 || (s.plans?.length ?? 0) > 0,
    },
  ],
);
export type RatePolicySpec = z.output<typeof ratePolicySpecSchema>;

export const ratePolicySchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('RatePolicy'),
  metadata: metadataSchema,
  spec: ratePolicySpecSchema,
  status: statusSchema.optional(),
});
export type RatePolicy = z.output<typeof ratePolicySchema>;

// What each kind looks like to kubectl: names, short names, printer columns, and the zod schemas it comes from.
import type { z } from 'zod';
import { apiRouteSpecSchema, authorizerSpecSchema, ratePolicySpecSchema, statusSchema } from './schemas/index.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdKind {
  kind: string;
  singular: string;
  plural: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  columns: PrinterColumn[];
}

const condition = (type: string, description: string): PrinterColumn => ({
  name: type,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  description,
});
const accepted = condition('Accepted', 'Whether the spec is valid');
const programmed = condition('Programmed', 'Whether the proxies serve the current generation');
const resolvedRefs = { ...condition('ResolvedRefs', 'Whether everything it references exists'), priority: 1 };
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const CRD_KINDS: CrdKind[] = [
  {
    kind: 'ApiRoute',
    singular: 'apiroute',
    plural: 'apiroutes',
    shortNames: ['ar'],
    description: 'ApiRoute sends requests for its hosts and paths to weighted backends, with auth, limits, CORS, caching and rewrites.',
    spec: apiRouteSpecSchema,
    status: statusSchema,
    columns: [
      { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts', description: 'Hosts the route serves (empty: any host)' },
      accepted,
      resolvedRefs,
      programmed,
      age,
    ],
  },
  {
    kind: 'Authorizer',
    singular: 'authorizer',
    plural: 'authorizers',
    shortNames: ['authz'],
    description: 'Authorizer says how a request proves who it is: a JWT, an API key, or an external HTTP decision service.',
    spec: authorizerSpecSchema,
    status: statusSchema,
    columns: [
      { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'JWT, APIKey or External' },
      accepted,
      resolvedRefs,
      programmed,
      age,
    ],
  },
  {
    kind: 'RatePolicy',
    singular: 'ratepolicy',
    plural: 'ratepolicies',
    shortNames: ['rp'],
    description: 'RatePolicy holds token-bucket limits and calendar quotas, keyed by caller, enforced per proxy or fleet-wide.',
    spec: ratePolicySpecSchema,
    status: statusSchema,
    columns: [
      { name: 'Limits', type: 'string', jsonPath: '.spec.limits[*].name', description: 'Names of the limits' },
      accepted,
      programmed,
      age,
    ],
  },
];

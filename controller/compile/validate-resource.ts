// Validation of one raw resource: its zod schema (which carries the CRD's structural and CEL rules), that its
// metadata agrees with where the source found it, then the checks a schema cannot express (per kind).
import type { z } from 'zod';
import { apiRouteSchema, apiRouteSpecSchema, authorizerSchema, authorizerSpecSchema, ratePolicySchema, ratePolicySpecSchema } from '../../crds/schemas/index.ts';
import { unknownFields } from './unknown-fields.ts';
import type { ResourceId } from './resource-key.ts';
import { formatFieldPath, type FieldProblem } from './field-path.ts';
import type { ValidatedResource } from './validated-resource.ts';
import { checkApiRoute } from './api-route-checks.ts';
import { checkAuthorizer } from './authorizer-checks.ts';
import { checkRatePolicy } from './rate-policy-checks.ts';

export type ValidationResult = { ok: true; resource: ValidatedResource } | { ok: false; problems: FieldProblem[] };

const SPEC_SCHEMAS = { ApiRoute: apiRouteSpecSchema, Authorizer: authorizerSpecSchema, RatePolicy: ratePolicySpecSchema } as const;

export function validateResource(id: ResourceId, object: unknown): ValidationResult {
  const parsed = parseByKind(id, object);
  const spec = typeof object === 'object' && object !== null ? (object as { spec?: unknown }).spec : undefined;
  const unknown = unknownFields(SPEC_SCHEMAS[id.kind], spec, ['spec']);
  if (!parsed.ok) return { ok: false, problems: [...parsed.problems, ...unknown] };
  const { metadata } = parsed.resource.object;
  const problems: FieldProblem[] = [...unknown];
  if (metadata.name !== id.name) problems.push({ path: 'metadata.name', message: `is ${JSON.stringify(metadata.name)} but the resource was listed as ${JSON.stringify(id.name)}` });
  if (metadata.namespace !== id.namespace) {
    problems.push({ path: 'metadata.namespace', message: `is ${JSON.stringify(metadata.namespace)} but the resource was listed in ${JSON.stringify(id.namespace)}` });
  }
  problems.push(...semanticProblems(parsed.resource));
  return problems.length === 0 ? parsed : { ok: false, problems };
}

function parseByKind(id: ResourceId, object: unknown): ValidationResult {
  switch (id.kind) {
    case 'ApiRoute': {
      const r = apiRouteSchema.safeParse(object);
      return r.success ? { ok: true, resource: { kind: 'ApiRoute', object: r.data } } : { ok: false, problems: zodProblems(r.error) };
    }
    case 'Authorizer': {
      const r = authorizerSchema.safeParse(object);
      return r.success ? { ok: true, resource: { kind: 'Authorizer', object: r.data } } : { ok: false, problems: zodProblems(r.error) };
    }
    case 'RatePolicy': {
      const r = ratePolicySchema.safeParse(object);
      return r.success ? { ok: true, resource: { kind: 'RatePolicy', object: r.data } } : { ok: false, problems: zodProblems(r.error) };
    }
  }
}

function semanticProblems(resource: ValidatedResource): FieldProblem[] {
  switch (resource.kind) {
    case 'ApiRoute':
      return checkApiRoute(resource.object);
    case 'Authorizer':
      return checkAuthorizer(resource.object);
    case 'RatePolicy':
      return checkRatePolicy(resource.object);
  }
}

function zodProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({ path: formatFieldPath(issue.path), message: issue.message }));
}

// A rule's requestValidation → the table's, and the checks on it: the body schema must compile (with the same ajv
// setup the proxy uses), and its regular expressions (`pattern`, `patternProperties`), which run on request bodies,
// must pass the same ReDoS check as the route's own regexes. A problem names the field, so the ApiRoute is
// Accepted=False with it and keeps serving its last accepted version; nothing else in the table changes.
// A schema read from a ConfigMap (bodySchemaRef) gets the same checks at compile time; a ConfigMap or key that is
// missing, or holds no usable schema, is a reference problem (ResolvedRefs=False), and the rule fails closed: it
// answers 503 instead of forwarding requests it cannot validate (route-compiler.ts).
import type { RouteRule } from '../../crds/schemas/index.ts';
import type { TableRequestValidation } from '../../proxy/table/table-schema.ts';
import { compileBodySchema } from '../../proxy/validation/json-schema-compiler.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { RefProblem } from './conditions.ts';
import type { FieldProblem } from './field-path.ts';
import { regexProblem } from './regex-safety.ts';
import { cmp } from './resource-key.ts';

type RuleValidation = RouteRule['requestValidation'];

/** Keywords whose values are data, not schemas: a `pattern` inside them is not a regex. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

/** The label the controller selects ConfigMaps by (kube-source.ts DEFAULT_CONFIGMAP_SELECTOR, the chart's default). */
export const CONFIGMAP_LABEL_HINT = 'in a cluster it must carry the --configmap-selector label, by default gatehouse.dev/config';

export function checkRequestValidation(validation: RuleValidation, at: string): FieldProblem[] {
  const schema = validation?.bodySchema;
  if (schema === undefined) return [];
  return schemaProblems(schema, `${at}.requestValidation.bodySchema`);
}

function schemaProblems(schema: Record<string, unknown>, field: string): FieldProblem[] {
  const compiled = compileBodySchema(schema);
  if (!compiled.ok) return [{ path: field, message: compiled.message }];
  const problems: FieldProblem[] = [];
  schemaRegexes(schema, field, (pattern, where) => {
    const p = regexProblem(pattern);
    if (p !== undefined) problems.push({ path: where, message: p });
  });
  return problems;
}

/** A rule's body schema: inline, or read from its ConfigMap; `problem` set when a referenced one cannot be used. */
export type ResolvedBodySchema = { schema: Record<string, unknown> | undefined; problem: RefProblem | null };

const NO_SCHEMA: ResolvedBodySchema = Object.freeze({ schema: undefined, problem: null }) as ResolvedBodySchema;

export function resolveBodySchema(validation: RuleValidation, at: string, namespace: string, cluster: ClusterIndex): ResolvedBodySchema {
  if (validation === undefined) return NO_SCHEMA;
  if (validation.bodySchema !== undefined) return { schema: validation.bodySchema, problem: null };
  const ref = validation.bodySchemaRef;
  if (ref === undefined) return NO_SCHEMA;
  const field = `${at}.requestValidation.bodySchemaRef`;
  const who = `ConfigMap ${namespace}/${ref.configMap}`;
  const unusable = (reason: string, message: string): ResolvedBodySchema => ({
    schema: undefined,
    problem: { path: field, reason, message: `${message}; the rule answers 503 until it is fixed` },
  });
  const configMap = cluster.configMap(namespace, ref.configMap);
  if (configMap === undefined) return unusable('ConfigMapNotFound', `${who} not found (${CONFIGMAP_LABEL_HINT})`);
  const text = configMap.data[ref.key];
  if (text === undefined) return unusable('ConfigMapNotFound', `${who} has no key ${JSON.stringify(ref.key)}`);
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    return unusable('InvalidConfigMap', `${who} key ${JSON.stringify(ref.key)} is not JSON: ${(err as Error).message}`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return unusable('InvalidConfigMap', `${who} key ${JSON.stringify(ref.key)} is not a JSON Schema object`);
  }
  const problems = schemaProblems(schema as Record<string, unknown>, '');
  if (problems.length > 0) {
    const said = problems.map((p) => (p.path === '' ? p.message : `${p.path.replace(/^\./, '')}: ${p.message}`)).join('; ');
    return unusable('InvalidConfigMap', `${who} key ${JSON.stringify(ref.key)}: ${said}`);
  }
  return { schema: schema as Record<string, unknown>, problem: null };
}

/** `bodySchema`: the resolved one (undefined when the rule has none, or its ConfigMap's cannot be used). */
export function routeRequestValidation(validation: RuleValidation, bodySchema: Record<string, unknown> | undefined): TableRequestValidation | undefined {
  if (validation === undefined) return undefined;
  return {
    ...(bodySchema !== undefined && { bodySchema }),
    requiredHeaders: sortedUnique((validation.requiredHeaders ?? []).map((h) => h.toLowerCase())),
    requiredQuery: sortedUnique(validation.requiredQuery ?? []),
  };
}

function schemaRegexes(node: unknown, at: string, visit: (pattern: string, at: string) => void): void {
  if (typeof node !== 'object' || node === null) return;
  if (Array.isArray(node)) {
    node.forEach((child, i) => schemaRegexes(child, `${at}[${i}]`, visit));
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    const where = `${at}.${key}`;
    if (DATA_KEYWORDS.has(key)) continue;
    if (key === 'pattern' && typeof value === 'string') visit(value, where);
    else if (key === 'patternProperties' && typeof value === 'object' && value !== null) {
      for (const pattern of Object.keys(value)) visit(pattern, `${where}[${JSON.stringify(pattern)}]`);
    }
    schemaRegexes(value, where, visit);
  }
}

function sortedUnique(items: string[]): string[] {
  return [...new Set(items)].sort(cmp);
}

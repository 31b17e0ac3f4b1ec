// A rule's requestValidation → the table's, and the checks on it: the body schema must compile (with the same ajv
// setup the proxy uses), and its regular expressions (`pattern`, `patternProperties`), which run on request bodies,
// must pass the same ReDoS check as the route's own regexes. A problem names the field, so the ApiRoute is
// Accepted=False with it and keeps serving its last accepted version; nothing else in the table changes.
import type { RouteRule } from '../../crds/schemas/index.ts';
import type { TableRequestValidation } from '../../proxy/table/table-schema.ts';
import { compileBodySchema } from '../../proxy/validation/json-schema-compiler.ts';
import type { FieldProblem } from './field-path.ts';
import { regexProblem } from './regex-safety.ts';
import { cmp } from './resource-key.ts';

type RuleValidation = RouteRule['requestValidation'];

/** Keywords whose values are data, not schemas: a `pattern` inside them is not a regex. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

export function checkRequestValidation(validation: RuleValidation, at: string): FieldProblem[] {
  const schema = validation?.bodySchema;
  if (schema === undefined) return [];
  const field = `${at}.requestValidation.bodySchema`;
  const compiled = compileBodySchema(schema);
  if (!compiled.ok) return [{ path: field, message: compiled.message }];
  const problems: FieldProblem[] = [];
  schemaRegexes(schema, field, (pattern, where) => {
    const p = regexProblem(pattern);
    if (p !== undefined) problems.push({ path: where, message: p });
  });
  return problems;
}

export function routeRequestValidation(validation: RuleValidation): TableRequestValidation | undefined {
  if (validation === undefined) return undefined;
  return {
    ...(validation.bodySchema !== undefined && { bodySchema: validation.bodySchema }),
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

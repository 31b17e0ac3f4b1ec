// Turns the JSON Schema that zod emits into a *structural* OpenAPI v3 schema, the subset of
// JSON Schema that apiextensions.k8s.io/v1 accepts: every node typed, no $ref/definitions,
// no logical junctors carrying types, only the keywords JSONSchemaProps knows.
// Anything it cannot translate faithfully is an error naming the node, never a silent drop.

export type JsonSchema = { [key: string]: unknown };

/** Keywords passed through unchanged (the value-validation and x-kubernetes-* keywords). */
const KEPT_KEYS = new Set([
  'description',
  'title',
  'type',
  'format',
  'default',
  'example',
  'nullable',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'required',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
]);

/** Keywords handled structurally below (recursed into or rewritten). */
const STRUCTURAL_KEYS = new Set(['properties', 'items', 'additionalProperties', 'anyOf', 'oneOf', '$ref', 'const']);

/** Dropped on purpose: meaningless to the API server, or enforced by zod at runtime only. */
const DROPPED_KEYS = new Set(['$schema', '$defs', 'definitions', 'id', '$id', 'examples', 'readOnly', 'writeOnly']);

/** Formats the API server validates; others (zod's "starts_with", …) would be ignored or warned about. */
const KUBE_FORMATS = new Set([
  'bsonobjectid', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'cidr', 'mac', 'uuid', 'uuid3', 'uuid4', 'uuid5',
  'isbn', 'isbn10', 'isbn13', 'creditcard', 'ssn', 'hexcolor', 'rgbcolor', 'byte', 'password', 'date',
  'duration', 'datetime', 'date-time', 'int32', 'int64', 'float', 'double',
]);

export class StructuralSchemaError extends Error {}

/** Convert a zod-emitted schema (its own `$defs`/`definitions` resolve `$ref`s) to a structural one. */
export function toStructural(root: JsonSchema): JsonSchema {
  const defs = { ...asObject(root.definitions), ...asObject(root.$defs) };
  return convert(root, defs, '', []);
}

function convert(node: JsonSchema, defs: JsonSchema, path: string, refStack: string[]): JsonSchema {
  if (typeof node.$ref === 'string') return convert(inlineRef(node, defs, path, refStack), defs, path, [...refStack, node.$ref]);
  if (Array.isArray(node.anyOf) || Array.isArray(node.oneOf)) return convertUnion(node, defs, path, refStack);

  const out = copyKeywords(node, path);

  if (node.properties !== undefined) {
    const props: JsonSchema = {};
    for (const [name, child] of Object.entries(asObject(node.properties))) {
      props[name] = convert(asObject(child), defs, `${path}.${name}`, refStack);
    }
    out.properties = props;
  }
  // `additionalProperties: false` is how zod closes an object; the API server prunes unknown
  // fields instead, and forbids additionalProperties beside properties.
  const extra = node.additionalProperties;
  if (extra !== undefined && extra !== false) {
    if (node.properties !== undefined) throw new StructuralSchemaError(`${at(path)}: properties and additionalProperties together`);
    // `{}` (z.unknown() values) admits any value, as `true` does: both are kept unpruned.
    if (extra === true || isEmptySchema(extra)) out['x-kubernetes-preserve-unknown-fields'] = true;
    else out.additionalProperties = convert(asObject(extra), defs, `${path}[*]`, refStack);
  }
  if (node.items !== undefined) {
    if (Array.isArray(node.items)) throw new StructuralSchemaError(`${at(path)}: tuple items are not structural`);
    out.items = convert(asObject(node.items), defs, `${path}[*]`, refStack);
  }

  inferObjectType(out);
  boundEnumLength(out);
  if (out.type === undefined && out['x-kubernetes-int-or-string'] !== true && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    throw new StructuralSchemaError(`${at(path)}: every node needs a type`);
  }
  return out;
}

/** The node's own keywords, without its children. */
function copyKeywords(node: JsonSchema, path: string): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_KEYS.has(key) || STRUCTURAL_KEYS.has(key)) continue;
    if (!KEPT_KEYS.has(key)) throw new StructuralSchemaError(`${at(path)}: keyword "${key}" has no structural equivalent`);
    if (key === 'format' && !KUBE_FORMATS.has(String(value))) continue;
    out[key] = value;
  }
  if ('const' in node) out.enum = [node.const];
  return out;
}

function inlineRef(node: JsonSchema, defs: JsonSchema, path: string, refStack: string[]): JsonSchema {
  const ref = node.$ref as string;
  if (refStack.includes(ref)) throw new StructuralSchemaError(`${at(path)}: recursive schema via ${ref} cannot be inlined`);
  const name = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref)?.[1];
  const target = name === undefined ? undefined : defs[decodeURIComponent(name)];
  if (target === undefined) throw new StructuralSchemaError(`${at(path)}: unresolvable $ref ${ref}`);
  const { $ref: _ref, ...siblings } = node;
  return { ...asObject(target), ...siblings };
}

/** Keywords that only ever constrain integers, or only strings: they can share one int-or-string node. */
const INT_ONLY_KEYS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];
const STRING_ONLY_KEYS = ['minLength', 'maxLength', 'pattern'];

/**
 * Unions are not structural unless every branch has the same type. The one union the schemas
 * use is integer|string (a Service port): that becomes x-kubernetes-int-or-string, and the
 * branches' bounds move up onto that node. This keeps their meaning, because JSON Schema
 * applies minimum/maximum to numbers only and minLength/maxLength/pattern to strings only
 * (and a known maxLength keeps CEL cost estimates of enclosing rules low).
 */
function convertUnion(node: JsonSchema, defs: JsonSchema, path: string, refStack: string[]): JsonSchema {
  const branches = ((node.anyOf ?? node.oneOf) as unknown[]).map((b, i) => convert(asObject(b), defs, `${path}|${i}`, refStack));
  const types = branches.map((b) => b.type).sort();
  if (types.length !== 2 || types[0] !== 'integer' || types[1] !== 'string') {
    throw new StructuralSchemaError(`${at(path)}: union of ${types.join('|')} has no structural form`);
  }
  const out: JsonSchema = { ...copyKeywords(node, path), 'x-kubernetes-int-or-string': true };
  for (const branch of branches) {
    const allowed = branch.type === 'integer' ? INT_ONLY_KEYS : STRING_ONLY_KEYS;
    for (const [key, value] of Object.entries(branch)) {
      if (key === 'type') continue;
      if (!allowed.includes(key)) throw new StructuralSchemaError(`${at(path)}: "${key}" in the ${branch.type} branch cannot move onto an int-or-string node`);
      out[key] = value;
    }
  }
  return out;
}

/** zod omits `type` on some object nodes; the API server requires it. */
function inferObjectType(out: JsonSchema): void {
  if (out.type === undefined && (out.properties !== undefined || out.additionalProperties !== undefined)) out.type = 'object';
}

/**
 * CEL's cost estimator sizes a string by its maxLength, falling back to the whole request size;
 * an enum is as long as its longest value, so saying so keeps rules like `self.type == 'Regex'` cheap.
 */
function boundEnumLength(out: JsonSchema): void {
  if (out.type !== 'string' || !Array.isArray(out.enum) || out.maxLength !== undefined) return;
  out.maxLength = Math.max(...out.enum.map((v) => String(v).length));
}

function isEmptySchema(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

function asObject(value: unknown): JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonSchema) : {};
}

function at(path: string): string {
  return path === '' ? '<root>' : path.replace(/^\./, '');
}

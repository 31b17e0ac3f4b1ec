// The committed CRD manifests are exactly what the schemas generate, and they are structural by the apiextensions rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderCrds, crdObject } from '../../crds/render-crds.ts';
import { CRD_KINDS } from '../../crds/crd-kinds.ts';
import { toStructural, StructuralSchemaError, type JsonSchema } from '../../crds/openapi-structural.ts';

const CRDS_DIR = join(import.meta.dirname, '../../crds');

test('committed CRD manifests match the schemas', () => {
  const rendered = renderCrds();
  const committed = readdirSync(CRDS_DIR).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(committed, [...rendered.keys()].sort(), 'crds/*.yaml do not match the kinds: run `npm run gen`');
  for (const [name, text] of rendered) {
    const onDisk = readFileSync(join(CRDS_DIR, name), 'utf8');
    assert.ok(onDisk === text, `crds/${name} is stale: run \`npm run gen\` and commit the result`);
  }
});

test('rendering is deterministic', () => {
  assert.deepEqual([...renderCrds()], [...renderCrds()]);
});

test('each CRD has the expected names, scope, version and status subresource', () => {
  const expected: Record<string, [string, string, string[]]> = {
    ApiRoute: ['apiroute', 'apiroutes', ['ar']],
    Authorizer: ['authorizer', 'authorizers', ['authz']],
    RatePolicy: ['ratepolicy', 'ratepolicies', ['rp']],
  };
  for (const [file, text] of renderCrds()) {
    const crd = parse(text);
    const [singular, plural, shortNames] = expected[crd.spec.names.kind] ?? assert.fail(`unexpected kind in ${file}`);
    assert.equal(crd.metadata.name, `${plural}.gatehouse.dev`);
    assert.equal(crd.spec.group, 'gatehouse.dev');
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.deepEqual(crd.spec.names.shortNames, shortNames);
    assert.equal(crd.spec.names.singular, singular);
    assert.deepEqual(crd.spec.names.categories, ['gatehouse']);
    assert.equal(crd.spec.versions.length, 1);
    const [version] = crd.spec.versions;
    assert.equal(version.name, 'v1alpha1');
    assert.equal(version.served, true);
    assert.equal(version.storage, true);
    assert.deepEqual(version.subresources, { status: {} });
    const columns = version.additionalPrinterColumns.map((c: { name: string }) => c.name);
    assert.ok(columns.includes('Accepted') && columns.includes('Programmed') && columns.includes('Age'), `${file}: columns ${columns}`);
    assert.deepEqual(version.schema.openAPIV3Schema.properties.metadata, { type: 'object' });
  }
});

// What the apiextensions structural-schema rules forbid, checked on every node.
const FORBIDDEN_KEYS = ['$ref', '$schema', 'definitions', '$defs', 'patternProperties', 'additionalItems', 'uniqueItems', 'dependencies', 'oneOf', 'anyOf', 'allOf', 'not', 'const'];

interface Finding {
  path: string;
  problem: string;
}

/** Walk a schema; `bounded` says whether every enclosing list and map has a size limit (CEL cost needs it). */
function structuralProblems(node: JsonSchema, path: string, bounded: boolean, out: Finding[]): Finding[] {
  for (const key of FORBIDDEN_KEYS) if (key in node) out.push({ path, problem: `has ${key}` });
  const typed = typeof node.type === 'string' || node['x-kubernetes-int-or-string'] === true || node['x-kubernetes-preserve-unknown-fields'] === true;
  if (!typed) out.push({ path, problem: 'has no type' });
  if (node.additionalProperties === false) out.push({ path, problem: 'has additionalProperties: false' });
  if (node.properties !== undefined && node.additionalProperties !== undefined) out.push({ path, problem: 'has properties and additionalProperties' });
  if ('format' in node && node.format === 'starts_with') out.push({ path, problem: 'has a format the API server does not know' });
  if (node['x-kubernetes-validations'] !== undefined && !bounded) out.push({ path, problem: 'has CEL rules under an unbounded list or map' });
  if (node.type === 'string' && Array.isArray(node.enum) && node.maxLength === undefined) out.push({ path, problem: 'enum without maxLength (CEL cost)' });

  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) {
    structuralProblems(child, `${path}.${name}`, bounded, out);
  }
  if (node.items !== undefined) structuralProblems(node.items as JsonSchema, `${path}[*]`, bounded && node.maxItems !== undefined, out);
  if (typeof node.additionalProperties === 'object') {
    structuralProblems(node.additionalProperties as JsonSchema, `${path}{*}`, bounded && node.maxProperties !== undefined, out);
  }
  return out;
}

test('every CRD schema is structural, and CEL rules sit under bounded lists only', () => {
  for (const kind of CRD_KINDS) {
    const crd = crdObject(kind) as { spec: { versions: { schema: { openAPIV3Schema: JsonSchema } }[] } };
    const schema = crd.spec.versions[0]?.schema.openAPIV3Schema as JsonSchema;
    assert.deepEqual(structuralProblems(schema, kind.kind, true, []), []);
  }
});

test('CEL fieldPaths name a property of the node the rule sits on', () => {
  const check = (node: JsonSchema, path: string): void => {
    for (const v of (node['x-kubernetes-validations'] ?? []) as { fieldPath?: string }[]) {
      if (v.fieldPath === undefined) continue;
      const field = v.fieldPath.replace(/^\./, '');
      assert.ok(field in ((node.properties ?? {}) as object), `${path}: fieldPath ${v.fieldPath} is not a property`);
    }
    for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) check(child, `${path}.${name}`);
    if (node.items !== undefined) check(node.items as JsonSchema, `${path}[*]`);
  };
  for (const kind of CRD_KINDS) {
    const crd = crdObject(kind) as { spec: { versions: { schema: { openAPIV3Schema: JsonSchema } }[] } };
    check(crd.spec.versions[0]?.schema.openAPIV3Schema as JsonSchema, kind.kind);
  }
});

test('toStructural: int|string unions become int-or-string with per-type bounds', () => {
  const out = toStructural({
    anyOf: [
      { type: 'integer', minimum: 1, maximum: 65535 },
      { type: 'string', minLength: 1, maxLength: 15 },
    ],
  });
  assert.deepEqual(out, { 'x-kubernetes-int-or-string': true, minimum: 1, maximum: 65535, minLength: 1, maxLength: 15 });
});

test('toStructural: inlines $refs, drops additionalProperties: false and unknown formats, bounds enums', () => {
  const out = toStructural({
    $schema: 'http://json-schema.org/draft-04/schema#',
    type: 'object',
    additionalProperties: false,
    properties: {
      a: { $ref: '#/definitions/A' },
      p: { type: 'string', format: 'starts_with', pattern: '^/' },
      e: { type: 'string', enum: ['One', 'Three'] },
      r: { type: 'object', additionalProperties: { type: 'string' } },
    },
    definitions: { A: { type: 'object', properties: { x: { type: 'integer' } } } },
  });
  assert.deepEqual(out, {
    type: 'object',
    properties: {
      a: { type: 'object', properties: { x: { type: 'integer' } } },
      p: { type: 'string', pattern: '^/' },
      e: { type: 'string', enum: ['One', 'Three'], maxLength: 5 },
      r: { type: 'object', additionalProperties: { type: 'string' } },
    },
  });
});

test('toStructural: refuses what has no structural form', () => {
  assert.throws(() => toStructural({ anyOf: [{ type: 'string' }, { type: 'object', properties: {} }] }), StructuralSchemaError);
  assert.throws(() => toStructural({ type: 'object', properties: { a: { not: { type: 'string' } } } }), /keyword "not"/);
  assert.throws(() => toStructural({ properties: { a: { $ref: '#/definitions/A' } }, definitions: { A: { $ref: '#/definitions/A' } } }), /recursive/);
  assert.throws(() => toStructural({ type: 'object', properties: { a: {} } }), /needs a type/);
});

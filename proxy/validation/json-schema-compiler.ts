// A request-body JSON Schema → a validate function, with ajv (a maintained validator). Used by the controller, to
// refuse an ApiRoute whose schema does not compile (naming the field), and by the proxy, which compiles each distinct
// schema once per table apply (body-schema-set.ts), never per request.
//
// ajv compiles a schema to JavaScript and evaluates it with `new Function` (its code generator escapes every value
// taken from the schema). Node allows that (no --disallow-code-generation-from-strings); a policy forbidding
// eval-like code would need ajv's standalone mode, compiled at build time, which per-route schemas from the API
// server cannot use.
//
// The dialect is chosen by `$schema`: draft-04 (what AWS API Gateway models use), draft-07, or 2020-12 (also the
// default when `$schema` is absent). Anything else is refused, not guessed.
//
// ajv itself is loaded at the first compile (on-demand-packages.ts): a proxy whose table has no body schema never
// loads it.
import type { Ajv, AnySchema, ErrorObject, Options, ValidateFunction } from 'ajv';
import { ajvPackages } from '../runtime/on-demand-packages.ts';

export type SchemaDialect = 'draft-04' | 'draft-07' | '2020-12';

const DIALECTS: ReadonlyMap<string, SchemaDialect> = new Map([
  ['http://json-schema.org/draft-04/schema#', 'draft-04'],
  ['http://json-schema.org/draft-04/schema', 'draft-04'],
  ['http://json-schema.org/draft-07/schema#', 'draft-07'],
  ['http://json-schema.org/draft-07/schema', 'draft-07'],
  ['https://json-schema.org/draft/2020-12/schema', '2020-12'],
  ['https://json-schema.org/draft/2020-12/schema#', '2020-12'],
]);

/** The largest schema accepted, as JSON text: ajv's own advice for schemas it cannot fully trust is to bound them. */
export const MAX_SCHEMA_BYTES = 64 * 1024;
/** Nesting deeper than this is refused (compiling deep schemas recurses, and can overflow the stack). */
export const MAX_SCHEMA_DEPTH = 32;

const OPTIONS: Options = {
  // One error, then stop: allErrors lets a crafted body allocate an error per element (a known ajv DoS vector).
  allErrors: false,
  // Keywords ajv does not know ("example", AWS's "title" siblings…) are annotations: ignored, not refused.
  strictSchema: false,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  // Schemas with an $id must not be kept by the instance: two routes may use the same $id for different schemas.
  addUsedSchema: false,
  // No remote $ref is ever fetched (no loadSchema): an unresolvable $ref fails the compile.
  validateFormats: true,
};

export type SchemaCompile = { ok: true; validate: ValidateFunction; dialect: SchemaDialect } | { ok: false; message: string };

export function dialectOf(schema: Record<string, unknown>): SchemaDialect | null {
  const declared = schema['$schema'];
  if (declared === undefined) return '2020-12';
  return typeof declared === 'string' ? (DIALECTS.get(declared) ?? null) : null;
}

/** Compiles a body schema; a problem is a message fit for a status condition (no request data in it). */
export function compileBodySchema(schema: Record<string, unknown>): SchemaCompile {
  const dialect = dialectOf(schema);
  if (dialect === null) {
    return { ok: false, message: `$schema ${JSON.stringify(schema['$schema'])} is not supported (use draft-04, draft-07 or 2020-12, or leave it out for 2020-12)` };
  }
  const size = Buffer.byteLength(JSON.stringify(schema));
  if (size > MAX_SCHEMA_BYTES) return { ok: false, message: `is ${size} bytes as JSON; at most ${MAX_SCHEMA_BYTES} are accepted` };
  if (depthOf(schema, 0) > MAX_SCHEMA_DEPTH) return { ok: false, message: `nests deeper than ${MAX_SCHEMA_DEPTH} levels` };
  try {
    warnings.length = 0;
    const ajv = instanceFor(dialect);
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(schema as AnySchema);
    } finally {
      // The instance would keep every schema it compiled (its cache); the validate function needs none of that.
      ajv.removeSchema(schema as AnySchema);
    }
    // An unknown format would silently accept anything: refused, as a typo in it most likely is.
    const unknownFormat = warnings.find((w) => w.startsWith('unknown format'));
    if (unknownFormat !== undefined) return { ok: false, message: `does not compile: ${firstLine(unknownFormat.replace(' ignored', ''))}` };
    return { ok: true, validate, dialect };
  } catch (err) {
    return { ok: false, message: `does not compile: ${firstLine(err instanceof Error ? err.message : String(err))}` };
  }
}

/** What ajv warned about during the current (synchronous) compile. */
const warnings: string[] = [];
// ajv reports what strictSchema: false lets through (unknown keywords, unknown formats) as warnings.
const LOGGER = { log: ignore, error: ignore, warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')) };
/** One instance per dialect: an instance compiles its meta-schema and formats once (~30 ms, ~200 KB each). */
const instances = new Map<SchemaDialect, Ajv>();

function instanceFor(dialect: SchemaDialect): Ajv {
  let ajv = instances.get(dialect);
  if (ajv === undefined) {
    const options = { ...OPTIONS, logger: LOGGER };
    const { Ajv, Ajv2020, Ajv4, addFormats } = ajvPackages();
    ajv = dialect === 'draft-04' ? new Ajv4(options) : dialect === 'draft-07' ? new Ajv(options) : new Ajv2020(options);
    addFormats(ajv);
    instances.set(dialect, ajv);
  }
  return ajv;
}

function ignore(): void {}

function depthOf(value: unknown, depth: number): number {
  if (depth > MAX_SCHEMA_DEPTH || typeof value !== 'object' || value === null) return depth;
  let max = depth;
  for (const v of Array.isArray(value) ? value : Object.values(value)) max = Math.max(max, depthOf(v, depth + 1));
  return max;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** One problem in a request body, as the 400 answer lists it. */
export interface BodyIssue {
  /** JSON Pointer into the body ("" for the body itself); for a missing property, the pointer it should be at. */
  path: string;
  message: string;
}

export const MAX_ISSUES = 10;
const MAX_MESSAGE = 200;

/** ajv's errors, bounded: at most MAX_ISSUES, messages cut at MAX_MESSAGE characters. */
export function bodyIssues(errors: readonly ErrorObject[] | null | undefined): BodyIssue[] {
  const out: BodyIssue[] = [];
  for (const e of errors ?? []) {
    if (out.length === MAX_ISSUES) break;
    let path = e.instancePath;
    const missing = e.keyword === 'required' ? (e.params as { missingProperty?: unknown }).missingProperty : undefined;
    if (typeof missing === 'string') path = `${path}/${missing.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    const message = e.message ?? e.keyword;
    out.push({ path: path.length > MAX_MESSAGE ? `${path.slice(0, MAX_MESSAGE)}…` : path, message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message });
  }
  return out;
}

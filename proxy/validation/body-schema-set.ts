// The table's distinct body schemas, compiled once each. A table apply compiles only schemas the previous runtime did
// not have (by a hash of their JSON text, or by object when a delta kept the route as it was), so an unchanged schema
// is never compiled again, and no request ever compiles one.
import { createHash } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import type { TableRoute } from '../table/table-schema.ts';
import { compileBodySchema } from './json-schema-compiler.ts';

export interface CompiledBodySchema {
  validate: ValidateFunction;
  /** The schema admits `null`: a request without a body passes (otherwise it is refused as "body required"). */
  acceptsNoBody: boolean;
}

export class BodySchemaSet {
  readonly #byHash: ReadonlyMap<string, CompiledBodySchema>;
  readonly #byObject: WeakMap<object, CompiledBodySchema>;

  constructor(byHash: ReadonlyMap<string, CompiledBodySchema>, byObject: WeakMap<object, CompiledBodySchema>) {
    this.#byHash = byHash;
    this.#byObject = byObject;
  }

  get size(): number {
    return this.#byHash.size;
  }

  /** The compiled form of a schema of the table this set was built for. */
  of(schema: Record<string, unknown>): CompiledBodySchema {
    const compiled = this.#byObject.get(schema);
    if (compiled === undefined) throw new Error('body schema not in the set built for this table');
    return compiled;
  }

  lookup(hash: string): CompiledBodySchema | undefined {
    return this.#byHash.get(hash);
  }

  lookupObject(schema: object): CompiledBodySchema | undefined {
    return this.#byObject.get(schema);
  }
}

export const NO_BODY_SCHEMAS = new BodySchemaSet(new Map(), new WeakMap());

export type BodySchemaBuild = { ok: true; schemas: BodySchemaSet } | { ok: false; error: string };

export function buildBodySchemas(routes: readonly TableRoute[], previous: BodySchemaSet = NO_BODY_SCHEMAS): BodySchemaBuild {
  const byHash = new Map<string, CompiledBodySchema>();
  const byObject = new WeakMap<object, CompiledBodySchema>();
  for (const route of routes) {
    const schema = route.requestValidation?.bodySchema;
    if (schema === undefined) continue;
    const kept = previous.lookupObject(schema);
    if (kept !== undefined) {
      byObject.set(schema, kept);
      byHash.set(hashOf(schema), kept);
      continue;
    }
    const hash = hashOf(schema);
    let compiled = byHash.get(hash) ?? previous.lookup(hash);
    if (compiled === undefined) {
      const c = compileBodySchema(schema);
      // The controller checked it; a hand-written table (or another validator version) may still carry a bad one.
      if (!c.ok) return { ok: false, error: `route ${JSON.stringify(route.id)}: requestValidation.bodySchema ${c.message}` };
      compiled = { validate: c.validate, acceptsNoBody: c.validate(null) };
    }
    byHash.set(hash, compiled);
    byObject.set(schema, compiled);
  }
  return { ok: true, schemas: new BodySchemaSet(byHash, byObject) };
}

function hashOf(schema: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('base64url');
}

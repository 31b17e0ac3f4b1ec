// Decides, for one resource key, what is served: the object as written when it is valid, else its last accepted
// version (when the caller has one), else nothing. A key listed more than once (two files defining the same
// resource) is treated as invalid: picking one would depend on input order.
import type { RawResource } from './compile-types.ts';
import type { FieldProblem } from './field-path.ts';
import { resourceKey, type ResourceId } from './resource-key.ts';
import { validateResource, type ValidationResult } from './validate-resource.ts';
import type { ValidatedResource } from './validated-resource.ts';

export interface Judgement {
  id: ResourceId;
  /** metadata.generation of the object as written, when readable. */
  generation: number | undefined;
  /** Empty when the object as written is valid. */
  problems: FieldProblem[];
  /** What the table is compiled from; when `problems` is not empty this is the last accepted version. */
  served: ValidatedResource | undefined;
}

/** `group`: every RawResource with the same key (normally one). */
export function judgeResource(
  group: readonly RawResource[],
  lastAccepted: ReadonlyMap<string, unknown> | undefined,
  validate: (id: ResourceId, object: unknown) => ValidationResult = validateResource,
): Judgement {
  const first = group[0] as RawResource;
  const id: ResourceId = { kind: first.kind, namespace: first.namespace, name: first.name };
  const generations = new Set(group.map((r) => readGeneration(r.object)));
  const generation = generations.size === 1 ? readGeneration(first.object) : undefined;
  let problems: FieldProblem[];
  if (group.length > 1) {
    const origins = group.map((r) => r.origin).filter((o): o is string => o !== undefined).sort();
    const where = origins.length === group.length ? ` (${origins.join(', ')})` : '';
    problems = [{ path: '', message: `${id.kind} ${id.namespace}/${id.name} is defined ${group.length} times${where}` }];
  } else {
    const result = validate(id, first.object);
    if (result.ok) return { id, generation, problems: [], served: result.resource };
    problems = result.problems;
  }
  return { id, generation, problems, served: fallback(id, lastAccepted, validate) };
}

function fallback(
  id: ResourceId,
  lastAccepted: ReadonlyMap<string, unknown> | undefined,
  validate: (id: ResourceId, object: unknown) => ValidationResult,
): ValidatedResource | undefined {
  const previous = lastAccepted?.get(resourceKey(id));
  if (previous === undefined) return undefined;
  // Re-validated: it was accepted by an earlier compile, but the caller may hand in anything.
  const result = validate(id, previous);
  return result.ok ? result.resource : undefined;
}

function readGeneration(object: unknown): number | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const metadata = (object as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const g = (metadata as { generation?: unknown }).generation;
  return typeof g === 'number' && Number.isInteger(g) && g >= 0 ? g : undefined;
}

/** The raw resources by key, in first-seen order (a key listed twice is judged as one invalid resource). */
export function groupByKey(resources: readonly RawResource[], keyOf: (r: RawResource) => string = resourceKey): RawResource[][] {
  const groups = new Map<string, RawResource[]>();
  for (const r of resources) {
    const key = keyOf(r);
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()];
}

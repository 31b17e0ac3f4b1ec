// What a change does to one key of a tier (an exact path, a prefix, a template group): the routes it removes (by id:
// ids are unique within a bucket) and the candidates it adds.
import type { Candidate } from './candidate.ts';

export interface KeyChange {
  readonly removed: Set<string>;
  readonly added: Candidate[];
}

export function keyChange(changes: Map<string, KeyChange>, key: string): KeyChange {
  let change = changes.get(key);
  if (change === undefined) changes.set(key, (change = { removed: new Set(), added: [] }));
  return change;
}

/** `list` without the removed routes, with the added ones, in `order` (null: the caller sorts); null when nothing is left. */
export function changedList(list: readonly Candidate[], change: KeyChange, order: ((a: Candidate, b: Candidate) => number) | null): Candidate[] | null {
  // One allocation of the final size (push would reserve 16 more slots per list).
  const kept = change.removed.size === 0 ? list : list.filter((c) => !change.removed.has(c.route.id));
  const next = [...kept, ...change.added];
  if (order !== null) next.sort(order);
  return next.length > 0 ? next : null;
}

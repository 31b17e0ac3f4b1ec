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

/** Adds `c` to `key`'s list; a new list starts as `[c]`: grown by push from empty it would reserve 17 slots (~140 bytes), and most keys hold one route. */
export function pushKeyed(map: Map<string, Candidate[]>, key: string, c: Candidate): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [c]);
  else list.push(c);
}

/** `list` without the removed routes, with the added ones, in `order` (null: the caller sorts); null when nothing is left. */
export function changedList(list: readonly Candidate[], change: KeyChange, order: ((a: Candidate, b: Candidate) => number) | null): Candidate[] | null {
  // One allocation of the final size (push would reserve 16 more slots per list).
  const kept = change.removed.size === 0 ? list : list.filter((c) => !change.removed.has(c.route.id));
  const next = [...kept, ...change.added];
  if (order !== null) next.sort(order);
  return next.length > 0 ? next : null;
}

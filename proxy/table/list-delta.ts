// One ordered list of id'd items (the table's routes or backends) changed into another: ids removed, items changed
// in place, items added after a given id. The controller sends it only when applying it to the base list gives
// exactly the new list (it checks with this same function), so the proxy ends up with the controller's bytes.
export interface ListDelta<T> {
  removed: string[];
  /** Replaced where they stand. */
  changed: T[];
  /** Inserted after the item with id `after` (null: at the start), in new-list order (`after` may be added too). */
  added: Array<{ after: string | null; item: T }>;
}

export type ListDeltaResult<T> = { ok: true; items: T[] } | { ok: false; error: string };

export function applyListDelta<T extends { id: string }>(base: readonly T[], delta: ListDelta<T>, what: string): ListDeltaResult<T> {
  const removed = new Set(delta.removed);
  const changed = new Map<string, T>();
  for (const item of delta.changed) changed.set(item.id, item);
  const after = new Map<string | null, T[]>();
  for (const { after: anchor, item } of delta.added) {
    let list = after.get(anchor);
    if (list === undefined) after.set(anchor, (list = []));
    list.push(item);
  }
  const out: T[] = [];
  const seen = new Set<string>();
  const emit = (item: T): string | null => {
    if (seen.has(item.id)) return `${what} ${JSON.stringify(item.id)} appears twice`;
    seen.add(item.id);
    out.push(item);
    return emitAfter(item.id);
  };
  // Added items may follow other added items: emit each one's followers right after it.
  const emitAfter = (id: string | null): string | null => {
    const followers = after.get(id);
    if (followers === undefined) return null;
    after.delete(id);
    for (const f of followers) {
      const problem = emit(f);
      if (problem !== null) return problem;
    }
    return null;
  };
  let problem = emitAfter(null);
  let found = 0;
  let removedFound = 0;
  for (const item of base) {
    if (problem !== null) break;
    if (removed.has(item.id)) {
      removedFound++;
      continue;
    }
    const replacement = changed.get(item.id);
    if (replacement !== undefined) found++;
    problem = emit(replacement ?? item);
  }
  if (problem !== null) return { ok: false, error: problem };
  if (found !== changed.size) return { ok: false, error: `${what} change for an id the base table does not have` };
  if (after.size > 0) return { ok: false, error: `${what} added after ${JSON.stringify([...after.keys()][0])}, which the new table does not have` };
  if (removedFound !== removed.size) return { ok: false, error: `${what} removed that the base table does not have` };
  return { ok: true, items: out };
}

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

/**
 * `base` with `delta` applied. Base ids are unique (every list it is given was built or checked by this function or
 * by a full-table check), so only added items can collide: with each other or with a base item that stays. That keeps
 * the walk over the base down to a few map lookups per item, which matters at 10k routes on every change.
 */
export function applyListDelta<T extends { id: string }>(base: readonly T[], delta: ListDelta<T>, what: string): ListDeltaResult<T> {
  const removed = new Set(delta.removed);
  const changed = new Map<string, T>();
  for (const item of delta.changed) {
    if (changed.has(item.id)) return { ok: false, error: `${what} ${JSON.stringify(item.id)} changed twice` };
    changed.set(item.id, item);
  }
  const after = new Map<string | null, T[]>();
  const addedIds = new Set<string>();
  for (const { after: anchor, item } of delta.added) {
    if (addedIds.has(item.id)) return { ok: false, error: `${what} ${JSON.stringify(item.id)} appears twice` };
    addedIds.add(item.id);
    let list = after.get(anchor);
    if (list === undefined) after.set(anchor, (list = []));
    list.push(item);
  }
  const out: T[] = [];
  // Added items may follow other added items: emit each one's followers right after it.
  const emitAfter = (id: string | null): void => {
    const followers = after.get(id);
    if (followers === undefined) return;
    after.delete(id);
    for (const f of followers) {
      out.push(f);
      emitAfter(f.id);
    }
  };
  emitAfter(null);
  const anyRemoved = removed.size > 0;
  const anyChanged = changed.size > 0;
  const anyAdded = addedIds.size > 0;
  let found = 0;
  let removedFound = 0;
  for (const item of base) {
    const id = item.id;
    if (anyRemoved && removed.has(id)) {
      removedFound++;
      continue;
    }
    if (anyAdded && addedIds.has(id)) return { ok: false, error: `${what} ${JSON.stringify(id)} appears twice` };
    let next = item;
    if (anyChanged) {
      const replacement = changed.get(id);
      if (replacement !== undefined) {
        found++;
        next = replacement;
      }
    }
    out.push(next);
    if (after.size > 0) emitAfter(id);
  }
  if (found !== changed.size) return { ok: false, error: `${what} change for an id the base table does not have` };
  if (after.size > 0) return { ok: false, error: `${what} added after ${JSON.stringify([...after.keys()][0])}, which the new table does not have` };
  if (removedFound !== removed.size) return { ok: false, error: `${what} removed that the base table does not have` };
  return { ok: true, items: out };
}

/** Above this many changed, removed or added items, the one walk of applyListDelta is cheaper than a scan per item. */
const SCAN_LIMIT = 32;

/**
 * applyListDelta with the same result and the same refusals, for a base whose items can be looked up by id
 * (`itemOf`, e.g. the proxy's runtime): a small delta costs a native copy of the base array and one native scan per
 * item it touches (microseconds at 50k routes) instead of a map lookup per base item. Big deltas take the walk.
 */
export function applyListDeltaIndexed<T extends { id: string }>(base: readonly T[], delta: ListDelta<T>, what: string, itemOf: (id: string) => T | undefined): ListDeltaResult<T> {
  if (delta.removed.length + delta.changed.length + delta.added.length > SCAN_LIMIT) return applyListDelta(base, delta, what);
  const removed = new Set(delta.removed);
  for (const id of removed) if (itemOf(id) === undefined) return { ok: false, error: `${what} removed that the base table does not have` };
  const changed = new Map<string, T>();
  for (const item of delta.changed) {
    if (changed.has(item.id)) return { ok: false, error: `${what} ${JSON.stringify(item.id)} changed twice` };
    if (removed.has(item.id) || itemOf(item.id) === undefined) return { ok: false, error: `${what} change for an id the base table does not have` };
    changed.set(item.id, item);
  }
  const addedIds = new Set<string>();
  const followers = new Map<string | null, T[]>();
  for (const { after, item } of delta.added) {
    if (addedIds.has(item.id) || (!removed.has(item.id) && itemOf(item.id) !== undefined)) return { ok: false, error: `${what} ${JSON.stringify(item.id)} appears twice` };
    addedIds.add(item.id);
    let list = followers.get(after);
    if (list === undefined) followers.set(after, (list = []));
    list.push(item);
  }
  const run = (anchor: string | null, items: T[]): T[] => {
    const list = followers.get(anchor);
    if (list === undefined) return items;
    followers.delete(anchor);
    for (const item of list) {
      items.push(item);
      run(item.id, items);
    }
    return items;
  };
  // Insertions first, the first of them as the copy itself: a copy made by slice() has no room to spare, and a splice
  // that inserts into it grew its store by half again (at 50k routes ~1 MB of old space per one-route change, which
  // brought the next major GC closer). Changes and removals then work in place.
  let out: T[] | undefined;
  for (const anchor of [...followers.keys()]) {
    if (anchor !== null && addedIds.has(anchor)) continue; // placed with the run it belongs to
    if (anchor !== null && (removed.has(anchor) || itemOf(anchor) === undefined)) continue; // refused below
    const items = run(anchor, []);
    const at = anchor === null ? -1 : (out ?? base).indexOf(itemOf(anchor) as T);
    if (out === undefined) out = base.toSpliced(at + 1, 0, ...items);
    else out.splice(at + 1, 0, ...items);
  }
  out ??= base.slice();
  for (const [id, item] of changed) out[out.indexOf(itemOf(id) as T)] = item;
  for (const id of removed) out.splice(out.indexOf(itemOf(id) as T), 1);
  if (followers.size > 0) return { ok: false, error: `${what} added after ${JSON.stringify([...followers.keys()][0])}, which the new table does not have` };
  return { ok: true, items: out };
}

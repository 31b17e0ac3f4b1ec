// Routes keep an order key: their position in the table times ORDER_SPACING at a full build. A route a delta adds
// gets a key between its neighbours' keys, so no other route's key moves and the router rebuilds only the host
// buckets the change is in (keys are only ever compared within one bucket, and every bucket sees the table's order).
// A double halves its gap ~36 times at 50k routes before two keys collide; then the index is built anew (sliced),
// which spaces the keys again. That takes dozens of routes added in a row into one gap, one change after another.
import type { TableRoute } from '../table/table-schema.ts';

export const ORDER_SPACING = 65536;

/**
 * Order keys for the routes a delta adds (in the list-delta shape: each after the id it follows, null: at the start),
 * placed between the keys of the base routes around them; null when a gap has no room left. `keyOf` gives a base
 * route's key, `routeOf` its object in `base`. Finds each anchor's successor with a native scan of `base` (a few
 * microseconds at 50k routes) when few anchors are given, else with one position map.
 */
export function addedOrderKeys(
  base: readonly TableRoute[],
  added: ReadonlyArray<{ after: string | null; item: TableRoute }>,
  keyOf: (id: string) => number | undefined,
  routeOf: (id: string) => TableRoute | undefined,
): Map<string, number> | null {
  const keys = new Map<string, number>();
  if (added.length === 0) return keys;
  const addedIds = new Set(added.map((a) => a.item.id));
  const followers = new Map<string | null, TableRoute[]>();
  for (const { after, item } of added) {
    let list = followers.get(after);
    if (list === undefined) followers.set(after, (list = []));
    list.push(item);
  }
  // The added routes that follow one base route (or the start), in table order: the ones after it, each followed
  // by those added after it, as the list delta emits them.
  const run = (anchor: string | null, out: TableRoute[]): TableRoute[] => {
    for (const item of followers.get(anchor) ?? []) {
      out.push(item);
      run(item.id, out);
    }
    return out;
  };
  const anchors = [...followers.keys()].filter((a) => a === null || !addedIds.has(a));
  const positions = anchors.length > 8 ? new Map(base.map((r, i) => [r, i])) : null;
  for (const anchor of anchors) {
    const items = run(anchor, []);
    let lo: number;
    let hi: number | undefined;
    if (anchor === null) {
      hi = base.length > 0 ? keyOf((base[0] as TableRoute).id) : undefined;
      lo = hi === undefined ? -ORDER_SPACING : hi - (items.length + 1) * ORDER_SPACING;
    } else {
      const key = keyOf(anchor);
      const route = routeOf(anchor);
      if (key === undefined || route === undefined) return null; // the list delta refuses such an anchor first
      lo = key;
      const at = positions !== null ? (positions.get(route) ?? -1) : base.indexOf(route);
      const next = at >= 0 ? base[at + 1] : undefined;
      hi = next === undefined ? undefined : keyOf(next.id);
    }
    const step = hi === undefined ? ORDER_SPACING : (hi - lo) / (items.length + 1);
    let last = lo;
    for (let i = 0; i < items.length; i++) {
      const key = lo + step * (i + 1);
      if (!(key > last) || (hi !== undefined && !(key < hi))) return null;
      keys.set((items[i] as TableRoute).id, key);
      last = key;
    }
  }
  return keys;
}

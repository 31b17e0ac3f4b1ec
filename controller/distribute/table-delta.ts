// What changed between two compiled tables, as a `delta` message: routes and backends removed, changed and added
// (with where each added one goes). Computed once per (base version, new version), whatever the number of proxies on
// that base. Null when a delta would not help (too big) or could not reproduce the new table's order exactly; the
// caller then sends the whole table.
import { applyListDelta, type ListDelta } from '../../proxy/table/list-delta.ts';
import type { DeltaMessage, EndpointsMessage } from '../../proxy/table/stream-protocol.ts';
import { itemJson as json } from '../../proxy/table/table-json.ts';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';
import { AUTHORIZERS_PER_PART, BACKENDS_PER_PART, CERTIFICATES_PER_PART, RATE_POLICIES_PER_PART, TLS_HOSTS_PER_PART } from './table-encoding.ts';

/**
 * The most routes a delta carries (changed plus added); beyond it the whole table goes. A delta is one message, so
 * this bounds what the proxy validates at once (~5 ms warm); it is larger than a table part because a proxy that gets
 * a delta is already running, its validation code warm.
 */
export const DELTA_MAX_ROUTES = 500;

export function tableDelta(base: RoutingTable, next: RoutingTable): DeltaMessage | null {
  if (base.schema !== next.schema) return null;
  const routes = listDelta(base.routes, next.routes, DELTA_MAX_ROUTES);
  if (routes === null) return null;
  const backends = listDelta(base.backends, next.backends, BACKENDS_PER_PART);
  if (backends === null) return null;
  const authorizers = listDelta(base.authorizers, next.authorizers, AUTHORIZERS_PER_PART);
  if (authorizers === null) return null;
  const ratePolicies = listDelta(base.ratePolicies, next.ratePolicies, RATE_POLICIES_PER_PART);
  if (ratePolicies === null) return null;
  const certificates = listDelta(base.certificates, next.certificates, CERTIFICATES_PER_PART);
  if (certificates === null) return null;
  const tlsHosts = listDelta(base.tlsHosts, next.tlsHosts, TLS_HOSTS_PER_PART);
  if (tlsHosts === null) return null;
  return { type: 'delta', baseVersion: base.version, version: next.version, schema: next.schema, routes, backends, authorizers, ratePolicies, certificates, tlsHosts };
}

/**
 * Null when more than `limit` items changed or were added, or when the delta would not give `next`'s order.
 *
 * The compiler hands unchanged items on as the same objects in the same order, so the lists are compared by identity
 * from both ends first (a pointer compare per item) and only the middle where they differ is diffed and checked: a
 * one-route change at 50k routes then walks the lists once and diffs a few items, instead of building maps of both
 * lists and replaying the delta over the whole base (~40 ms). Ids are unique within a list, so no id of the middle
 * can be in either end.
 */
function listDelta<T extends { id: string }>(base: readonly T[], next: readonly T[], limit: number): ListDelta<T> | null {
  let start = 0;
  const shorter = Math.min(base.length, next.length);
  while (start < shorter && base[start] === next[start]) start++;
  let end = 0; // items equal at the end, not overlapping the start
  while (end < shorter - start && base[base.length - 1 - end] === next[next.length - 1 - end]) end++;
  const baseMiddle = base.slice(start, base.length - end);
  const nextMiddle = next.slice(start, next.length - end);
  const anchor = start > 0 ? (next[start - 1] as T) : undefined;
  const delta = middleDelta(baseMiddle, nextMiddle, anchor?.id ?? null, limit);
  if (delta === null) return null;
  // Unchanged items that moved cannot be expressed: check the delta rebuilds exactly next's middle, after the same
  // anchor (the items before and after the middle are untouched by it).
  const rebuilt = applyListDelta(anchor === undefined ? baseMiddle : [anchor, ...baseMiddle], delta, 'item');
  const expected = anchor === undefined ? nextMiddle : [anchor, ...nextMiddle];
  if (!rebuilt.ok || rebuilt.items.length !== expected.length) return null;
  for (let i = 0; i < expected.length; i++) if ((rebuilt.items[i] as T).id !== (expected[i] as T).id) return null;
  return delta;
}

/** The delta from `base` to `next` (two lists' differing middles); added items follow `anchor` or each other. */
function middleDelta<T extends { id: string }>(base: readonly T[], next: readonly T[], anchor: string | null, limit: number): ListDelta<T> | null {
  const before = new Map<string, T>();
  for (const item of base) before.set(item.id, item);
  const present = new Set<string>();
  const changed: T[] = [];
  const added: Array<{ after: string | null; item: T }> = [];
  let previousId: string | null = anchor;
  for (const item of next) {
    present.add(item.id);
    const old = before.get(item.id);
    if (old === undefined) added.push({ after: previousId, item });
    // Each item's JSON is computed once per object: the compile cache hands unchanged routes on as the same objects.
    else if (old !== item && json(old) !== json(item)) changed.push(item);
    if (changed.length + added.length > limit) return null;
    previousId = item.id;
  }
  const removed = base.filter((item) => !present.has(item.id)).map((item) => item.id);
  return { removed, changed, added };
}

/**
 * The same change as an endpoint update, when only backends' endpoints changed (the proxy then keeps its routes and
 * router as they are); null otherwise.
 */
export function asEndpointUpdate(base: RoutingTable, delta: DeltaMessage): EndpointsMessage | null {
  const { routes, backends, authorizers, ratePolicies, certificates, tlsHosts } = delta;
  if (routes.removed.length + routes.changed.length + routes.added.length + backends.removed.length + backends.added.length > 0) return null;
  if (authorizers.removed.length + authorizers.changed.length + authorizers.added.length > 0) return null;
  if (ratePolicies.removed.length + ratePolicies.changed.length + ratePolicies.added.length > 0) return null;
  if (certificates.removed.length + certificates.changed.length + certificates.added.length > 0) return null;
  if (tlsHosts.removed.length + tlsHosts.changed.length + tlsHosts.added.length > 0) return null;
  if (backends.changed.length === 0) return null;
  const before = new Map(base.backends.map((b) => [b.id, b]));
  for (const b of backends.changed) {
    const old = before.get(b.id);
    if (old === undefined || JSON.stringify({ ...old, endpoints: [] }) !== JSON.stringify({ ...b, endpoints: [] })) return null;
  }
  return { type: 'endpoints', baseVersion: delta.baseVersion, version: delta.version, backends: backends.changed.map((b) => ({ id: b.id, endpoints: b.endpoints })) };
}

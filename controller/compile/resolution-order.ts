// The order in which ApiRoutes claim paths (and the order of routes in the table): oldest creationTimestamp first,
// a missing or unreadable timestamp last, then namespace/name. Within a resource, rule then match index.
import { cmp } from './resource-key.ts';

export interface OrderedResource {
  namespace: string;
  name: string;
  creationTimestamp?: string | undefined;
}

export function compareResolutionOrder(a: OrderedResource, b: OrderedResource): number {
  return timeOf(a) - timeOf(b) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

/** The same order with each timestamp parsed once (sorting 10k routes would otherwise parse ~280k dates). */
export function sortInResolutionOrder<T>(items: readonly T[], orderOf: (item: T) => OrderedResource): T[] {
  const keyed = items.map((item) => {
    const r = orderOf(item);
    return { item, time: timeOf(r), namespace: r.namespace, name: r.name };
  });
  keyed.sort((a, b) => a.time - b.time || cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
  return keyed.map((k) => k.item);
}

function timeOf(r: OrderedResource): number {
  // Date.parse reads the string only: no clock is involved.
  const t = r.creationTimestamp === undefined ? Number.NaN : Date.parse(r.creationTimestamp);
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

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

/** An ApiRoute's place in resolution order, with its timestamp parsed once. */
export interface ResolutionKey {
  time: number;
  namespace: string;
  name: string;
}

export function resolutionKey(r: OrderedResource): ResolutionKey {
  return { time: timeOf(r), namespace: r.namespace, name: r.name };
}

export function compareResolutionKeys(a: ResolutionKey, b: ResolutionKey): number {
  return a.time - b.time || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

/** The same order with each timestamp parsed once (sorting 10k routes would otherwise parse ~280k dates). */
export function sortInResolutionOrder<T>(items: readonly T[], orderOf: (item: T) => OrderedResource): T[] {
  const keyed = items.map((item) => ({ item, key: resolutionKey(orderOf(item)) }));
  keyed.sort((a, b) => compareResolutionKeys(a.key, b.key));
  return keyed.map((k) => k.item);
}

function timeOf(r: OrderedResource): number {
  // Date.parse reads the string only: no clock is involved.
  const t = r.creationTimestamp === undefined ? Number.NaN : Date.parse(r.creationTimestamp);
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

/** The fields of an ApiRoute's metadata that decide its place. */
export function orderOf(metadata: OrderedResource): OrderedResource {
  return { namespace: metadata.namespace, name: metadata.name, creationTimestamp: metadata.creationTimestamp };
}

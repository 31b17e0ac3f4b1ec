// The identity of a resource across compiles: "Kind/namespace/name" (the key of `lastAccepted` and `accepted`).
import type { ResourceKind } from './compile-types.ts';

export interface ResourceId {
  kind: ResourceKind;
  namespace: string;
  name: string;
}

export function resourceKey(id: ResourceId): string {
  return `${id.kind}/${id.namespace}/${id.name}`;
}

/** Statuses are listed by kind, then namespace, then name. */
export function compareResourceIds(a: ResourceId, b: ResourceId): number {
  return cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

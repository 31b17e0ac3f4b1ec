// How many route references each backend, and each target (a backend at one connect timeout), has in a table. A
// delta updates these from the routes it removes and adds instead of walking all 10k routes: a backend may only go
// once nothing refers to it, and a target (with its pools) is carried into the next runtime only while used.
import type { Slicer } from '../router/host-buckets.ts';
import type { TableRoute } from '../table/table-schema.ts';

export class ReferenceCounts {
  readonly #backends: Map<string, number>;
  readonly #targets: Map<string, number>;

  private constructor(backends: Map<string, number>, targets: Map<string, number>) {
    this.#backends = backends;
    this.#targets = targets;
  }

  static of(routes: readonly TableRoute[]): ReferenceCounts {
    const counts = new ReferenceCounts(new Map(), new Map());
    for (const route of routes) counts.add(route);
    return counts;
  }

  /** ReferenceCounts.of in time slices (a whole-table build at 50k routes). */
  static async ofSliced(routes: readonly TableRoute[], slicer: Slicer): Promise<ReferenceCounts> {
    const counts = new ReferenceCounts(new Map(), new Map());
    for (const route of routes) {
      counts.add(route);
      if (slicer.due()) await slicer.pause();
    }
    return counts;
  }

  /** A copy to change for the next runtime; the current one keeps describing the table it serves. */
  clone(): ReferenceCounts {
    return new ReferenceCounts(new Map(this.#backends), new Map(this.#targets));
  }

  add(route: TableRoute): void {
    this.#count(route, 1);
  }

  remove(route: TableRoute): void {
    this.#count(route, -1);
  }

  usesBackend(id: string): boolean {
    return (this.#backends.get(id) ?? 0) > 0;
  }

  usesTarget(backendId: string, connectMs: number): boolean {
    return (this.#targets.get(targetKey(backendId, connectMs)) ?? 0) > 0;
  }

  #count(route: TableRoute, by: 1 | -1): void {
    const connectMs = route.timeouts.connectMs;
    for (const ref of route.backends ?? []) this.#bump(ref.backend, connectMs, by);
    const canary = route.canary;
    if (canary !== undefined) for (const ref of canary.backends) this.#bump(ref.backend, connectMs, by);
  }

  #bump(backend: string, connectMs: number, by: 1 | -1): void {
    bump(this.#backends, backend, by);
    bump(this.#targets, targetKey(backend, connectMs), by);
  }
}

/** The collector's key for a target: one per backend and connect timeout. */
export function targetKey(backendId: string, connectMs: number): string {
  return `${backendId}|${connectMs}`;
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n === 0) map.delete(key);
  else map.set(key, n);
}

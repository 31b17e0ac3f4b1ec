// The resourceVersions our own status patches produced, so the watch event each of them causes is recognised as an
// echo and not re-planned: when a leader writes 10k statuses, every write comes back through the informer, and
// re-checking each one planned 10k statuses a second time (garbage that grew the heap during the burst). A status
// someone else wrote has another resourceVersion and is still re-checked (and put back).
const FORGET_AFTER_MS = 30_000;

export class OwnStatusWrites {
  readonly #written = new Map<string, { resourceVersion: string; at: number }>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  record(key: string, resourceVersion: string): void {
    this.#written.set(key, { resourceVersion, at: this.#now() });
  }

  /** True once for the live version our last write to `key` produced. */
  isEcho(key: string, resourceVersion: string | undefined): boolean {
    const own = this.#written.get(key);
    if (own === undefined || resourceVersion === undefined || own.resourceVersion !== resourceVersion) return false;
    this.#written.delete(key);
    return true;
  }

  /** Drops writes whose echo never came (the resource was deleted, or a newer write replaced it first). */
  forgetOld(): void {
    const before = this.#now() - FORGET_AFTER_MS;
    for (const [key, own] of this.#written) if (own.at < before) this.#written.delete(key);
  }

  get size(): number {
    return this.#written.size;
  }
}

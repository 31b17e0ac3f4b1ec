// A read-only map that has versions: each version is a large base shared by every version plus a small overlay of
// the entries that differ from it. Making the next version copies only the overlay (O(overlay + change)), never the
// base, so a one-route change at 50k routes does not clone 50k entries; a version is never changed once made, so a
// request that read it keeps seeing it whole. A lookup is one native Map lookup in the overlay (skipped while it is
// empty) and one in the base. Once the overlay outgrows ~√size, `compacted` folds it into a new base, in time slices.
import type { Slicer } from './host-buckets.ts';
import { SingleEntryMap } from './single-entry-map.ts';

/** In an overlay: the key was deleted from the base. */
const GONE: unique symbol = Symbol('gone');
type Slot<V> = V | typeof GONE;

/** The overlay of every first version, and the base of empty ones: never written (`with` copies an overlay before changing it). */
const NO_OVERLAY: ReadonlyMap<unknown, unknown> = new Map();

/** Entries copied per slice check while compacting (a check reads the clock only now and then). */
const COMPACT_STEP = 256;

export class VersionedMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  readonly #overlay: ReadonlyMap<K, Slot<V>>;
  readonly size: number;

  private constructor(base: ReadonlyMap<K, V>, overlay: ReadonlyMap<K, Slot<V>>, size: number) {
    this.#base = base;
    this.#overlay = overlay;
    this.size = size;
  }

  /**
   * A first version holding `entries`; the map handed in becomes the base and must not be changed afterwards. A map of
   * one entry is replaced by a SingleEntryMap, an empty one by a shared empty map (most host buckets' tiers are one or
   * none).
   */
  static of<K, V>(entries: Map<K, V>): VersionedMap<K, V> {
    const overlay = NO_OVERLAY as ReadonlyMap<K, Slot<V>>;
    if (entries.size === 0) return VersionedMap.empty();
    if (entries.size === 1) {
      const [key, value] = entries.entries().next().value as [K, V];
      return new VersionedMap(new SingleEntryMap(key, value), overlay, 1);
    }
    return new VersionedMap(entries, overlay, entries.size);
  }

  static empty<K, V>(): VersionedMap<K, V> {
    return new VersionedMap(NO_OVERLAY as ReadonlyMap<K, V>, NO_OVERLAY as ReadonlyMap<K, Slot<V>>, 0);
  }

  get(key: K): V | undefined {
    if (this.#overlay.size !== 0) {
      const slot = this.#overlay.get(key);
      if (slot !== undefined) return slot === GONE ? undefined : slot;
    }
    return this.#base.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** The next version: each change sets its key to a value, or deletes it (undefined). This version is not changed. */
  with(changes: Iterable<readonly [K, V | undefined]>): VersionedMap<K, V> {
    const overlay = new Map(this.#overlay);
    let size = this.size;
    for (const [key, value] of changes) {
      const had = this.#has(overlay, key);
      if (value === undefined) {
        if (!had) continue;
        if (this.#base.has(key)) overlay.set(key, GONE);
        else overlay.delete(key);
        size--;
      } else {
        if (!had) size++;
        overlay.set(key, value);
      }
    }
    return new VersionedMap(this.#base, overlay, size);
  }

  /** True once the overlay is big enough that lookups and the next versions' copies are better served by a new base. */
  get wantsCompaction(): boolean {
    const n = this.#overlay.size;
    return n > 64 && n * n > this.#base.size;
  }

  /** The same entries with an empty overlay: a new base, built a slice at a time (the old one stays as it was). */
  async compacted(slicer: Slicer): Promise<VersionedMap<K, V>> {
    const base = new Map<K, V>();
    let n = 0;
    for (const [key, value] of this.entries()) {
      base.set(key, value);
      if (++n % COMPACT_STEP === 0 && slicer.due()) await slicer.pause();
    }
    return VersionedMap.of(base);
  }

  *entries(): MapIterator<[K, V]> {
    const overlay = this.#overlay;
    for (const entry of this.#base) {
      if (overlay.size === 0 || !overlay.has(entry[0])) {
        yield entry as [K, V];
        continue;
      }
      const slot = overlay.get(entry[0]) as Slot<V>;
      if (slot !== GONE) yield [entry[0], slot];
    }
    for (const [key, slot] of overlay) if (slot !== GONE && !this.#base.has(key)) yield [key, slot];
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [key, value] of this.entries()) fn(value, key, this);
  }

  #has(overlay: ReadonlyMap<K, Slot<V>>, key: K): boolean {
    const slot = overlay.get(key);
    if (slot !== undefined) return slot !== GONE;
    return this.#base.has(key);
  }
}

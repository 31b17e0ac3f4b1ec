// Values keyed by a path prefix that ends on a segment boundary ("/api" for "/api", "/api/" and "/api/x"; "" for
// every path), looked up at a path's boundaries: the prefix tier's routes and the template tier's groups. Versioned
// (versioned-map.ts), so the next version after a one-key change shares every other entry; a per-length count, copied
// per version (it is as long as the longest key, not as the table), lets a lookup skip boundary lengths no key has.
import type { Slicer } from './host-buckets.ts';
import { VersionedMap } from './versioned-map.ts';

export class BoundaryMap<V> {
  readonly #map: VersionedMap<string, V>;
  /** lengths[n]: how many keys are n characters long (a plain array: a typed array's buffer costs more per bucket). */
  readonly #lengths: readonly number[];

  private constructor(map: VersionedMap<string, V>, lengths: readonly number[]) {
    this.#map = map;
    this.#lengths = lengths;
  }

  /** A first version holding `entries` (which must not be changed afterwards). */
  static of<V>(entries: Map<string, V>): BoundaryMap<V> {
    return new BoundaryMap(VersionedMap.of(entries), countLengths(entries));
  }

  /** The longest key's length: no boundary past it can hold a value. */
  get longest(): number {
    return this.#lengths.length - 1;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    return this.#map.get(key);
  }

  /** The value for path[0, end), where `end` is the path's length or the index of a "/". */
  at(path: string, end: number): V | undefined {
    // Out of range reads undefined, which is not > 0.
    if (!(this.#lengths[end]! > 0)) return undefined;
    return this.#map.get(end === path.length ? path : path.slice(0, end));
  }

  values(): MapIterator<V> {
    return this.#map.values();
  }

  /** The next version: each change sets a key or deletes it (undefined); this version is not changed. */
  with(changes: ReadonlyArray<readonly [string, V | undefined]>): BoundaryMap<V> {
    let longest = this.#lengths.length - 1;
    for (const [key] of changes) longest = Math.max(longest, key.length);
    const lengths = new Array<number>(longest + 1).fill(0);
    for (let i = 0; i < this.#lengths.length; i++) lengths[i] = this.#lengths[i]!;
    for (const [key, value] of changes) {
      const had = this.#map.has(key);
      if (had && value === undefined) lengths[key.length] = lengths[key.length]! - 1;
      else if (!had && value !== undefined) lengths[key.length] = lengths[key.length]! + 1;
    }
    return new BoundaryMap(this.#map.with(changes), lengths);
  }

  /** This version with its map's overlay folded into a new base when it has grown (see VersionedMap). */
  async compactedIfDue(slicer: Slicer): Promise<BoundaryMap<V>> {
    return this.#map.wantsCompaction ? new BoundaryMap(await this.#map.compacted(slicer), this.#lengths) : this;
  }
}

/** Sized once (filled by push, a map of one key kept an array of 17 slots per prefix table and exact map). */
function countLengths(entries: ReadonlyMap<string, unknown>): number[] {
  let longest = -1;
  for (const key of entries.keys()) longest = Math.max(longest, key.length);
  const lengths = new Array<number>(longest + 1).fill(0);
  for (const key of entries.keys()) lengths[key.length] = lengths[key.length]! + 1;
  return lengths;
}

// A read-only map of exactly one entry. Most host buckets hold one exact path, one prefix and one template group, and
// a native Map of one entry costs ~230 bytes (the object and its smallest hash table) against ~30 here: at 17k hosts
// that was ~12 MB of a 50k-route proxy's heap, all of it walked by every major GC.
export class SingleEntryMap<K, V> implements ReadonlyMap<K, V> {
  readonly #key: K;
  readonly #value: V;

  constructor(key: K, value: V) {
    this.#key = key;
    this.#value = value;
  }

  get size(): number {
    return 1;
  }

  get(key: K): V | undefined {
    return key === this.#key ? this.#value : undefined;
  }

  has(key: K): boolean {
    return key === this.#key;
  }

  *entries(): MapIterator<[K, V]> {
    yield [this.#key, this.#value];
  }

  *keys(): MapIterator<K> {
    yield this.#key;
  }

  *values(): MapIterator<V> {
    yield this.#value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    fn(this.#value, this.#key, this);
  }
}

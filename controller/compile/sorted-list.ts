// A list kept sorted under inserts and removals (binary search, then one splice), so a long-running compiler
// keeps 10k resources in order without sorting them again on every change.
export class SortedList<T> {
  readonly #items: T[] = [];
  readonly #compare: (a: T, b: T) => number;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  get items(): readonly T[] {
    return this.#items;
  }

  insert(item: T): void {
    this.#items.splice(this.#lowerBound(item), 0, item);
  }

  /** Removes this very item (compared by identity among items that sort equal). */
  remove(item: T): void {
    for (let i = this.#lowerBound(item); i < this.#items.length && this.#compare(this.#items[i] as T, item) === 0; i++) {
      if (this.#items[i] === item) {
        this.#items.splice(i, 1);
        return;
      }
    }
  }

  #lowerBound(item: T): number {
    let lo = 0;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(this.#items[mid] as T, item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

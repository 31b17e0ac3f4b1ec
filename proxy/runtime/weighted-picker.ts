// Weighted random choice among backends: cumulative weights built once, one Math.random() per pick.

export class WeightedPicker<T> {
  private readonly items: T[] = [];
  private readonly cumulative: number[] = [];
  private readonly total: number;

  /** Entries with weight 0 are never picked; with none left, pick() returns undefined. */
  constructor(entries: ReadonlyArray<{ item: T; weight: number }>) {
    let total = 0;
    for (const { item, weight } of entries) {
      if (weight <= 0) continue;
      total += weight;
      this.items.push(item);
      this.cumulative.push(total);
    }
    this.total = total;
  }

  pick(): T | undefined {
    const n = this.items.length;
    if (n <= 1) return this.items[0];
    const r = Math.random() * this.total;
    // Backends per route are few, so a linear scan beats a binary search.
    for (let i = 0; i < n - 1; i++) {
      if (r < (this.cumulative[i] as number)) return this.items[i];
    }
    return this.items[n - 1];
  }
}

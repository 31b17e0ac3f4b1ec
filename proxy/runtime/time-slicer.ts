// Cuts a long synchronous build into slices of at most `budgetMs`, yielding to the event loop (setImmediate, so
// pending I/O runs first) in between: requests keep being served while a big table is built.
export class TimeSlicer {
  readonly #budgetMs: number;
  #sliceStart = performance.now();
  #calls = 0;
  /** Pauses taken, for logs and tests. */
  pauses = 0;

  /**
   * 5 ms: V8's major GC pauses (25-38 ms while a 50k-route table is built) cannot be sliced and land inside some slice,
   * so the longest stall is about one pause plus one slice.
   */
  constructor(budgetMs = 5) {
    this.#budgetMs = budgetMs;
  }

  /**
   * Reads the clock on every 16th call only: callers ask once per route, and at 10k routes a clock read per call
   * cost more than the work between them. 16 of the cheapest steps stay far below a millisecond.
   */
  due(): boolean {
    if ((++this.#calls & 15) !== 0) return false;
    return performance.now() - this.#sliceStart >= this.#budgetMs;
  }

  async pause(): Promise<void> {
    this.pauses++;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#sliceStart = performance.now();
  }
}

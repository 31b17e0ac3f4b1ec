// Cuts a long synchronous build into slices of at most `budgetMs`, yielding to the event loop (setImmediate, so
// pending I/O runs first) in between: requests keep being served while a big table is built.
export class TimeSlicer {
  readonly #budgetMs: number;
  #sliceStart = performance.now();
  /** Pauses taken, for logs and tests. */
  pauses = 0;

  constructor(budgetMs = 10) {
    this.#budgetMs = budgetMs;
  }

  due(): boolean {
    return performance.now() - this.#sliceStart >= this.#budgetMs;
  }

  async pause(): Promise<void> {
    this.pauses++;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#sliceStart = performance.now();
  }
}

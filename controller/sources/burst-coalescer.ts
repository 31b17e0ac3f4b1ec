// Turns a burst of change notifications into few runs: a run starts once changes have been quiet for `quietMs`,
// or at the latest `maxDelayMs` after the first change of the burst (so a steady stream still makes progress).
// Runs never overlap; a change during a run schedules exactly one more run after it.
export interface BurstCoalescerOptions {
  quietMs: number;
  maxDelayMs: number;
  run: () => void | Promise<void>;
  onError?: (err: unknown) => void;
}

export class BurstCoalescer {
  readonly #opts: BurstCoalescerOptions;
  #timer: NodeJS.Timeout | undefined;
  #burstStart = 0;
  #running = false;
  /** When the first change that arrived during the current run happened (0: none). */
  #pendingSince = 0;
  #closed = false;

  constructor(opts: BurstCoalescerOptions) {
    this.#opts = opts;
  }

  /** Something changed. */
  poke(): void {
    if (this.#closed) return;
    if (this.#running) {
      if (this.#pendingSince === 0) this.#pendingSince = Date.now();
      return;
    }
    this.#schedule(Date.now());
  }

  #schedule(changedAt: number): void {
    const now = Date.now();
    if (this.#timer === undefined) this.#burstStart = changedAt;
    else clearTimeout(this.#timer);
    const wait = Math.min(this.#opts.quietMs, Math.max(0, this.#burstStart + this.#opts.maxDelayMs - now));
    this.#timer = setTimeout(() => void this.#fire(), wait);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #fire(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#running = true;
    try {
      await this.#opts.run();
    } catch (err) {
      this.#opts.onError?.(err);
    } finally {
      this.#running = false;
    }
    // Changes that arrived during the run count their wait from when they arrived, not from now.
    if (this.#pendingSince !== 0 && !this.#closed) {
      const since = this.#pendingSince;
      this.#pendingSince = 0;
      this.#schedule(since);
    }
  }
}

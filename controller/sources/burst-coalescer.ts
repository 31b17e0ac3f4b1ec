// Turns a burst of change notifications into few runs: a run starts once changes have been quiet for `quietMs`,
// or at the latest `maxDelayMs` after the first change of the burst (so a steady stream still makes progress).
// While a stream keeps going (runs forced by the maximum delay back to back) the maximum delay doubles, up to
// `maxDelayCapMs`: a mass apply of thousands of objects then compiles a handful of times instead of four times a
// second, and the first quiet period brings it back. Runs never overlap; a change during a run schedules exactly
// one more run after it.
export interface BurstCoalescerOptions {
  quietMs: number;
  maxDelayMs: number;
  /** Upper bound for the growing maximum delay during a long stream; default 8 × maxDelayMs. */
  maxDelayCapMs?: number;
  run: () => void | Promise<void>;
  onError?: (err: unknown) => void;
}

export class BurstCoalescer {
  readonly #opts: BurstCoalescerOptions;
  #timer: NodeJS.Timeout | undefined;
  #timerForced = false;
  #burstStart = 0;
  /** Consecutive runs forced by the maximum delay (the stream never went quiet). */
  #forcedStreak = 0;
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

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #maxDelay(): number {
    const cap = this.#opts.maxDelayCapMs ?? this.#opts.maxDelayMs * 8;
    return Math.min(cap, this.#opts.maxDelayMs * 2 ** this.#forcedStreak);
  }

  #schedule(changedAt: number): void {
    const now = Date.now();
    if (this.#timer === undefined) this.#burstStart = changedAt;
    else clearTimeout(this.#timer);
    const untilMax = Math.max(0, this.#burstStart + this.#maxDelay() - now);
    this.#timerForced = untilMax < this.#opts.quietMs;
    this.#timer = setTimeout(() => void this.#fire(), Math.min(this.#opts.quietMs, untilMax));
  }

  async #fire(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#forcedStreak = this.#timerForced ? this.#forcedStreak + 1 : 0;
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

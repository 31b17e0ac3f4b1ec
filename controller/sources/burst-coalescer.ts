// Turns a burst of change notifications into few runs: a run starts once changes have been quiet for `quietMs`,
// or at the latest `maxDelayMs` after the first change of the burst (so a steady stream still makes progress).
//
// A mass apply (thousands of objects, written with uneven gaps) would still run every few hundred ms, which at
// 10k routes keeps a core busy compiling. So while bursts keep coming with many changes each, both delays double
// per run up to `maxDelayCapMs`; a burst of few changes, or an idle gap, brings them back. A lone change
// (someone applying one route) always gets the short delays. Runs never overlap; a change during a run
// schedules exactly one more run after it.
export interface BurstCoalescerOptions {
  quietMs: number;
  maxDelayMs: number;
  /** Upper bound for the growing delays during a mass change; default 8 × maxDelayMs. */
  maxDelayCapMs?: number;
  /** A burst with at least this many changes counts as part of a mass change; default 5. */
  busyChanges?: number;
  run: () => void | Promise<void>;
  onError?: (err: unknown) => void;
}

export class BurstCoalescer {
  readonly #opts: BurstCoalescerOptions;
  #timer: NodeJS.Timeout | undefined;
  #burstStart = 0;
  #burstChanges = 0;
  /** Consecutive runs of busy bursts. */
  #streak = 0;
  #lastRunEnd = 0;
  #running = false;
  /** When the first change that arrived during the current run happened (0: none), and how many arrived. */
  #pendingSince = 0;
  #pendingChanges = 0;
  #closed = false;

  constructor(opts: BurstCoalescerOptions) {
    this.#opts = opts;
  }

  /** Something changed. */
  poke(): void {
    if (this.#closed) return;
    if (this.#running) {
      if (this.#pendingSince === 0) this.#pendingSince = Date.now();
      this.#pendingChanges++;
      return;
    }
    this.#schedule(Date.now(), 1);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #scaled(ms: number): number {
    const cap = this.#opts.maxDelayCapMs ?? this.#opts.maxDelayMs * 8;
    return Math.min(cap, ms * 2 ** this.#streak);
  }

  #schedule(changedAt: number, changes: number): void {
    const now = Date.now();
    if (this.#timer === undefined) {
      // An idle gap as long as the longest delay ends a mass change.
      if (this.#lastRunEnd > 0 && changedAt - this.#lastRunEnd >= this.#scaled(this.#opts.maxDelayMs)) this.#streak = 0;
      this.#burstStart = changedAt;
      this.#burstChanges = 0;
    } else clearTimeout(this.#timer);
    this.#burstChanges += changes;
    const untilMax = Math.max(0, this.#burstStart + this.#scaled(this.#opts.maxDelayMs) - now);
    this.#timer = setTimeout(() => void this.#fire(), Math.min(this.#scaled(this.#opts.quietMs), untilMax));
  }

  async #fire(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#streak = this.#burstChanges >= (this.#opts.busyChanges ?? 5) ? this.#streak + 1 : 0;
    this.#running = true;
    try {
      await this.#opts.run();
    } catch (err) {
      this.#opts.onError?.(err);
    } finally {
      this.#running = false;
      this.#lastRunEnd = Date.now();
    }
    // Changes that arrived during the run count their wait from when they arrived, not from now.
    if (this.#pendingSince !== 0 && !this.#closed) {
      const since = this.#pendingSince;
      const changes = this.#pendingChanges;
      this.#pendingSince = 0;
      this.#pendingChanges = 0;
      this.#schedule(since, changes);
    }
  }
}

// The longest event-loop stall while a table change is handled: from the moment its first message arrives (before it
// is even decoded) until the applied table is on disk, plus one more timer turn so the histogram also sees the last
// synchronous stretch (a stretch is only recorded when the next timer fires after it). Changes that overlap share a
// window. This is what the 50 ms budget is about: requests on this proxy wait that long at worst.
import { monitorEventLoopDelay } from 'node:perf_hooks';

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;

/** Long enough for a 1 ms-resolution timer to fire at least once after the last stretch of work. */
const SETTLE_MS = 5;

export class ApplyStallWindow {
  readonly #report: (seconds: number, cpuSeconds: number, whole: boolean) => void;
  #histogram: IntervalHistogram | undefined;
  /** CPU usage when the window opened: the window's CPU time tells work from waiting for a CPU. */
  #cpuAtStart: NodeJS.CpuUsage | undefined;
  /** Changes begun and not yet ended: the window closes when this drops to zero. */
  #open = 0;
  #closing: NodeJS.Timeout | undefined;
  /**
   * The stretch from opening until the loop next turned. The histogram cannot see it: its first timer tick only sets
   * the reference point, so work that starts right away (decoding and applying the message, in microtasks) would go
   * unmeasured until its first pause.
   */
  #firstStretchMs = 0;
  /** A whole table was applied in this window (from the stream or the table file), not only changes. */
  #whole = false;

  constructor(report: (seconds: number, cpuSeconds: number, whole: boolean) => void) {
    this.#report = report;
  }

  begin(): void {
    this.#open++;
    clearTimeout(this.#closing);
    this.#closing = undefined;
    if (this.#histogram === undefined) {
      this.#histogram = monitorEventLoopDelay({ resolution: 1 });
      this.#histogram.enable();
      this.#cpuAtStart = process.cpuUsage();
      const opened = performance.now();
      this.#firstStretchMs = 0;
      this.#whole = false;
      setImmediate(() => (this.#firstStretchMs = performance.now() - opened));
    }
  }

  /** The open window holds a whole-table apply (it is reported as such too: the costliest kind, watched on its own). */
  markWhole(): void {
    this.#whole = true;
  }

  /** The change is done once `settled` resolves (or rejects: a failed write still ends it). */
  end(settled: Promise<unknown> = Promise.resolve()): void {
    const close = (): void => {
      if (--this.#open > 0) return;
      this.#closing = setTimeout(() => {
        this.#closing = undefined;
        const h = this.#histogram;
        if (h === undefined || this.#open > 0) return;
        h.disable();
        this.#histogram = undefined;
        const cpu = process.cpuUsage(this.#cpuAtStart);
        this.#report(Math.max(h.max / 1e9, this.#firstStretchMs / 1e3), (cpu.user + cpu.system) / 1e6, this.#whole);
      }, SETTLE_MS);
    };
    settled.then(close, close);
  }

  /** Stops measuring without a report (the subscription is closing). */
  stop(): void {
    clearTimeout(this.#closing);
    this.#histogram?.disable();
    this.#histogram = undefined;
    this.#open = 0;
  }
}

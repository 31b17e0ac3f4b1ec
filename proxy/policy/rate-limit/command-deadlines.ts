// Timeouts for Redis decisions without a timer per command: ioredis's own commandTimeout arms and clears a timer for
// every command, which cost 6–10 % of a Global limit's throughput here. Every decision has the same timeout, so
// deadlines come in the order commands are sent: a FIFO, swept by one timer while anything is pending. A decision
// times out between `timeoutMs` and `timeoutMs + SWEEP_MS` after it was sent.
const SWEEP_MS = 10;

export interface Deadline {
  /** Settled (answered or timed out): the sweep skips it, the late answer is ignored. */
  settled: boolean;
  readonly expiresAt: number;
  readonly onTimeout: () => void;
}

export class CommandDeadlines {
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #queue: Deadline[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number, now: () => number = performance.now.bind(performance)) {
    this.#timeoutMs = timeoutMs;
    this.#now = now;
  }

  /** Starts the clock of one command; `onTimeout` runs once if it is not settled in time. */
  start(onTimeout: () => void): Deadline {
    const deadline: Deadline = { settled: false, expiresAt: this.#now() + this.#timeoutMs, onTimeout };
    this.#queue.push(deadline);
    this.#timer ??= setInterval(() => this.#sweep(), SWEEP_MS).unref();
    return deadline;
  }

  get pending(): number {
    return this.#queue.length - this.#head;
  }

  #sweep(): void {
    const now = this.#now();
    const queue = this.#queue;
    let head = this.#head;
    while (head < queue.length) {
      const d = queue[head] as Deadline;
      if (!d.settled) {
        if (d.expiresAt > now) break;
        d.settled = true;
        d.onTimeout();
      }
      head++;
    }
    if (head === queue.length) {
      this.#queue = [];
      this.#head = 0;
      clearInterval(this.#timer);
      this.#timer = undefined;
    } else if (head > 1024 && head * 2 > queue.length) {
      this.#queue = queue.slice(head);
      this.#head = 0;
    } else this.#head = head;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

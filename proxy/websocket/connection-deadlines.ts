// The clocks of one connection: idle (no byte or message either way), maximum duration, and the credential's expiry
// when the rule closes on it. One re-armed timer for idle (activity only records a time), one for each deadline.

/** setTimeout's largest delay; longer ones are reached in steps. */
const MAX_DELAY = 2 ** 31 - 1;

export interface DeadlineSettings {
  idleMs: number;
  maxDurationMs: number;
  /** Epoch ms when the credential expires, or null. */
  expiresAt: number | null;
}

export type DeadlineReason = { code: number; reason: string };

export const IDLE: DeadlineReason = { code: 1001, reason: 'idle timeout' };
export const MAX_DURATION: DeadlineReason = { code: 1001, reason: 'maximum connection duration reached' };
export const EXPIRED: DeadlineReason = { code: 1008, reason: 'credential expired' };

export class ConnectionDeadlines {
  readonly #idleMs: number;
  readonly #onExpire: (why: DeadlineReason) => void;
  #last = performance.now();
  #idle: NodeJS.Timeout | null;
  #ends: Array<NodeJS.Timeout | null> = [];

  constructor(settings: DeadlineSettings, onExpire: (why: DeadlineReason) => void, now = Date.now()) {
    this.#idleMs = settings.idleMs;
    this.#onExpire = onExpire;
    this.#idle = setTimeout(this.#checkIdle, this.#idleMs);
    this.#at(now + settings.maxDurationMs, MAX_DURATION, now, 0);
    // An expiry after the maximum duration would never fire first.
    if (settings.expiresAt !== null && settings.expiresAt < now + settings.maxDurationMs) this.#at(settings.expiresAt, EXPIRED, now, 1);
  }

  /** Bytes or a message went one way or the other. */
  touch(): void {
    this.#last = performance.now();
  }

  stop(): void {
    if (this.#idle !== null) clearTimeout(this.#idle);
    this.#idle = null;
    for (const t of this.#ends) if (t !== null) clearTimeout(t);
    this.#ends = [];
  }

  readonly #checkIdle = (): void => {
    const quiet = performance.now() - this.#last;
    if (quiet >= this.#idleMs) {
      this.#idle = null;
      this.#onExpire(IDLE);
    } else {
      this.#idle = setTimeout(this.#checkIdle, this.#idleMs - quiet);
    }
  };

  #at(when: number, why: DeadlineReason, now: number, slot: number): void {
    const delay = Math.max(0, when - now);
    this.#ends[slot] = setTimeout(() => {
      this.#ends[slot] = null;
      if (delay > MAX_DELAY) this.#at(when, why, Date.now(), slot);
      else this.#onExpire(why);
    }, Math.min(delay, MAX_DELAY));
  }
}

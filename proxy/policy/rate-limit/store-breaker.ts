// A circuit breaker in front of Redis. A Redis that stops answering without dropping the connection (frozen,
// overloaded, a network black hole) is worse than one that is down: every Global decision would wait the whole
// --redis-timeout. After `threshold` failures in a row the breaker opens and Global limits take their failure mode at
// once; after `openMs` one decision probes Redis (half-open) and its outcome closes the breaker or opens it again.
import type { Logger } from 'pino';
import type { Clock } from '../policy-types.ts';

export interface BreakerOptions {
  threshold?: number;
  openMs?: number;
  clock?: Clock;
  logger: Logger;
}

export class StoreBreaker {
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #failures = 0;
  #state: 'closed' | 'open' | 'half-open' = 'closed';
  #reopenAt = 0;
  #probing = false;

  constructor(opts: BreakerOptions) {
    this.#threshold = opts.threshold ?? 3;
    this.#openMs = opts.openMs ?? 1_000;
    this.#clock = opts.clock ?? Date.now;
    this.#logger = opts.logger;
  }

  /** Whether a decision may go to Redis now; in half-open, only one (the probe) may. */
  allows(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') {
      if (this.#clock() < this.#reopenAt) return false;
      this.#state = 'half-open';
      this.#probing = false;
    }
    if (this.#probing) return false;
    this.#probing = true;
    return true;
  }

  get open(): boolean {
    return this.#state !== 'closed';
  }

  /** The outcome of a decision sent to Redis. */
  settled(ok: boolean): void {
    if (ok) {
      this.#failures = 0;
      if (this.#state !== 'closed') {
        this.#state = 'closed';
        this.#logger.info('redis answers again: Global limits are shared again');
      }
      return;
    }
    this.#failures++;
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.#threshold)) {
      if (this.#state === 'closed') this.#logger.warn({ failures: this.#failures, retryInMs: this.#openMs }, 'redis is not answering in time: Global limits follow their failure mode');
      this.#state = 'open';
      this.#reopenAt = this.#clock() + this.#openMs;
      this.#probing = false;
    }
  }
}

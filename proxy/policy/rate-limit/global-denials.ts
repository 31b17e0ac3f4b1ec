// The local pre-check of Global limits: when Redis refuses a counter, the refusal holds until the counter can admit
// again (a bucket's next token, a quota's next window), and no other proxy can make that sooner (they only take).
// So until then this proxy refuses that counter itself, without a round trip: an over-limit client costs no Redis
// traffic. Bounded like the local counters.
import { LRUCache } from 'lru-cache';

export class GlobalDenials {
  readonly #until: LRUCache<string, number>;

  constructor(maxKeys = 10_000) {
    this.#until = new LRUCache({ max: maxKeys });
  }

  /** Ms the counter stays refused from `nowMs` (0: ask Redis). */
  refusedFor(key: string, nowMs: number): number {
    const until = this.#until.get(key);
    if (until === undefined) return 0;
    if (until > nowMs) return until - nowMs;
    this.#until.delete(key);
    return 0;
  }

  refuse(key: string, untilMs: number): void {
    this.#until.set(key, untilMs);
  }
}

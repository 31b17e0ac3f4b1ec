// The local pre-check of Global limits: when Redis refuses a counter, the refusal holds until the counter can admit
// again (a bucket's next token, a quota's next window), and no other proxy can make that sooner (they only take).
// So until then this proxy refuses that counter itself, without a round trip: an over-limit client costs no Redis
// traffic. Bounded like the local counters, and like them made at the first refusal (lru-cache allocates its index
// up front).
import { LRUCache } from 'lru-cache';

/** Until when a counter refuses (epoch ms), and until when it is whole again (for the RateLimit `t`). */
export interface Refusal {
  readonly retryAt: number;
  readonly resetAt: number;
}

export class GlobalDenials {
  readonly #maxKeys: number;
  #refusals: LRUCache<string, Refusal> | null = null;

  constructor(maxKeys = 10_000) {
    this.#maxKeys = maxKeys;
  }

  /** The counter's refusal still holding at `nowMs`, or null (ask Redis). */
  refusal(key: string, nowMs: number): Refusal | null {
    const refusal = this.#refusals?.get(key);
    if (refusal === undefined) return null;
    if (refusal.retryAt > nowMs) return refusal;
    this.#refusals?.delete(key);
    return null;
  }

  refuse(key: string, refusal: Refusal): void {
    (this.#refusals ??= new LRUCache({ max: this.#maxKeys })).set(key, refusal);
  }
}

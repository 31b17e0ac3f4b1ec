// Capped exponential backoff with jitter, so many informers failing together (an API server restart) do not
// retry in lockstep. Delay n is uniform in [base·2ⁿ/2, base·2ⁿ], capped at `maxMs`.
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  random?: () => number;
}

export class JitteredBackoff {
  readonly #opts: Required<BackoffOptions>;
  #attempt = 0;

  constructor(opts: BackoffOptions) {
    this.#opts = { random: Math.random, ...opts };
  }

  next(): number {
    const ceiling = Math.min(this.#opts.maxMs, this.#opts.initialMs * 2 ** this.#attempt);
    if (ceiling < this.#opts.maxMs) this.#attempt++;
    return Math.round(ceiling / 2 + (ceiling / 2) * this.#opts.random());
  }

  reset(): void {
    this.#attempt = 0;
  }
}

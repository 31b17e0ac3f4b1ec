// Reconnect delays for the stream: capped exponential with full jitter (uniform in [0, ceiling]), so a fleet that
// lost its controller at the same moment does not reconnect in lockstep when it comes back.
export class ReconnectBackoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(initialMs = 250, maxMs = 10_000, random: () => number = Math.random) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#random = random;
  }

  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    if (ceiling < this.#maxMs) this.#attempt++;
    // Never zero: a floor of 10% keeps a hot loop from forming against a refusing controller.
    return Math.round(ceiling * (0.1 + 0.9 * this.#random()));
  }

  /** After a connection that got far enough to be useful (a table or an ACK went through). */
  reset(): void {
    this.#attempt = 0;
  }
}

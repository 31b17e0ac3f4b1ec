// Messages per second per connection, as a token bucket holding one second's worth: a client may send that many at
// once, then that many a second. Sizes are `ws`'s maxPayload (checked from the frame header, before buffering).

export class MessageRate {
  readonly #perSecond: number;
  #tokens: number;
  #at: number;

  constructor(perSecond: number, now: number) {
    this.#perSecond = perSecond;
    this.#tokens = perSecond;
    this.#at = now;
  }

  /** Takes one message at `now` (ms); false when the connection is over its rate. */
  take(now: number): boolean {
    const elapsed = now - this.#at;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#perSecond, this.#tokens + (elapsed * this.#perSecond) / 1000);
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

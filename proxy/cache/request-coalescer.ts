// Request coalescing: while one request for a key is upstream (the flight's leader, filling the cache), the other
// misses for that key wait for its answer instead of going upstream too. A wait is bounded: a follower whose leader
// has not settled in time, or whose leader's answer could not be stored, goes upstream itself.
import type { CachedResponse } from './cached-response.ts';

type Waiter = { done: (record: CachedResponse | null) => void; timer: NodeJS.Timeout };

export class Flight {
  readonly #key: string;
  readonly #owner: RequestCoalescer;
  readonly waiters = new Set<Waiter>();
  #settled = false;

  constructor(key: string, owner: RequestCoalescer) {
    this.#key = key;
    this.#owner = owner;
  }

  /** The leader's answer as stored (followers are served it), or null (they go upstream). Once; later calls do nothing. */
  settle(record: CachedResponse | null): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#owner.landed(this.#key, this);
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.done(record);
    }
    this.waiters.clear();
  }
}

export class RequestCoalescer {
  readonly #flights = new Map<string, Flight>();
  #waiting = 0;

  /** A new flight for `key`, which the caller leads; null when one is in the air already (then follow it). */
  lead(key: string): Flight | null {
    if (this.#flights.has(key)) return null;
    const flight = new Flight(key, this);
    this.#flights.set(key, flight);
    return flight;
  }

  /** Waits for the flight of `key` (lead() returned null) at most `timeoutMs`; `done(null)` on timeout. */
  follow(key: string, timeoutMs: number, done: (record: CachedResponse | null) => void): void {
    const flight = this.#flights.get(key);
    if (flight === undefined) return done(null);
    this.#waiting++;
    const waiter: Waiter = {
      done: (record) => {
        this.#waiting--;
        done(record);
      },
      timer: setTimeout(() => {
        flight.waiters.delete(waiter);
        waiter.done(null);
      }, timeoutMs),
    };
    flight.waiters.add(waiter);
  }

  /** Requests waiting for another's answer now (a gauge). */
  get waiting(): number {
    return this.#waiting;
  }

  get flights(): number {
    return this.#flights.size;
  }

  /** Called by Flight.settle. */
  landed(key: string, flight: Flight): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
  }
}

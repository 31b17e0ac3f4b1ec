// Passive health of one upstream address: refused connections eject it for a backoff that doubles on each
// repeated ejection, up to a ceiling; one successful response makes it healthy again.

export interface EjectionPolicy {
  /** The first ejection lasts this long. */
  baseMs: number;
  /** Repeated ejections double, never beyond this. */
  maxMs: number;
}

export const DEFAULT_EJECTION: EjectionPolicy = { baseMs: 1_000, maxMs: 30_000 };

export class EndpointHealth {
  /** Ejections in a row without a success in between. */
  ejections = 0;
  ejectedUntil = 0;

  isAvailable(now: number): boolean {
    return now >= this.ejectedUntil;
  }

  /**
   * Concurrent requests failing on the same dead endpoint count as one ejection: only a failure while the
   * endpoint is in rotation extends it, so the backoff grows per probe, not per request.
   */
  connectFailed(now: number, policy: EjectionPolicy): void {
    if (now < this.ejectedUntil) return;
    this.ejections++;
    this.ejectedUntil = now + Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(this.ejections - 1, 30));
  }

  succeeded(): void {
    if (this.ejections !== 0) this.ejections = 0;
  }
}

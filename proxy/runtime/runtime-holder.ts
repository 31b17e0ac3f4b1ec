// The current runtime, swapped atomically. A request reads `current` once at its start and keeps that
// object to the end, so a swap never changes the table under a request in flight.
import type { UpstreamEndpoint } from './endpoint-pool.ts';
import type { Runtime } from './runtime-types.ts';

export class RuntimeHolder {
  current: Runtime | undefined = undefined;

  /** Makes `next` current; pools only the old runtime used are closed once their running requests finish. */
  swap(next: Runtime, retired: readonly UpstreamEndpoint[]): void {
    this.current = next;
    for (const endpoint of retired) endpoint.retire();
  }

  /** Tears down every pool (shutdown). */
  async destroy(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (current !== undefined) await Promise.all([...current.endpoints.values()].map((e) => e.destroy()));
  }
}

// A backend as the request path sees it: its endpoints in round-robin order, skipping ejected ones.
import type { TableBackend } from '../table/table-schema.ts';
import type { UpstreamEndpoint } from './endpoint-pool.ts';

export class BackendTarget {
  readonly id: string;
  readonly pathPrefix: string;
  readonly hostHeader: string | undefined;
  #endpoints: readonly UpstreamEndpoint[];
  private cursor = 0;

  constructor(backend: TableBackend, endpoints: readonly UpstreamEndpoint[]) {
    this.id = backend.id;
    this.pathPrefix = backend.pathPrefix;
    this.hostHeader = backend.hostHeader;
    this.#endpoints = endpoints;
  }

  get endpoints(): readonly UpstreamEndpoint[] {
    return this.#endpoints;
  }

  /** An endpoint-only table change: the routes sending here keep this target and see the new list at once. */
  replaceEndpoints(endpoints: readonly UpstreamEndpoint[]): void {
    this.#endpoints = endpoints;
    if (this.cursor >= endpoints.length) this.cursor = 0;
  }

  /** The next endpoint in rotation that is not ejected, or undefined when none is. */
  next(now: number): UpstreamEndpoint | undefined {
    const list = this.#endpoints;
    const n = list.length;
    for (let tried = 0; tried < n; tried++) {
      const endpoint = list[this.cursor] as UpstreamEndpoint;
      this.cursor = this.cursor + 1 === n ? 0 : this.cursor + 1;
      if (endpoint.health.isAvailable(now)) return endpoint;
    }
    return undefined;
  }
}

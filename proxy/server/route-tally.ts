// One route's request numbers in plain arrays, added to by the request path and read when /metrics is scraped
// (tallied-metrics.ts): answers by method and status class, the gateway's own time, the upstream's time to headers,
// and upstream failures by kind. Each array is made on the route's first use of it: of 10k routes most may see no
// traffic, and a route that only answers GET 2xx exports one request series, not fifty. A tally reports its first use
// once (`onFirstUse`), so a scrape walks the routes that have numbers, not the whole table: at 50k routes walking
// every tally held the event loop for tens of ms per scrape.
import { UPSTREAM_ERROR_KINDS, type UpstreamErrorKind } from '../forward/upstream-errors.ts';
import type { RouteMetrics } from '../runtime/runtime-types.ts';
import { METHOD_LABELS, methodSlot } from './method-label.ts';
import { BucketCounts } from './tallied-metrics.ts';

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** The gateway's own share is sub-millisecond on a plain route; policies (Redis, an external authorizer) add ms. */
export const ADDED_LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
export const UPSTREAM_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const CLASSES = STATUS_CLASSES.length;

export class RouteTally implements RouteMetrics {
  readonly route: string;
  /** Requests at [methodSlot × 5 + status class]. */
  requests: Float64Array | null = null;
  added: BucketCounts | null = null;
  upstream: BucketCounts | null = null;
  /** Failed upstream attempts by index in UPSTREAM_ERROR_KINDS. */
  errors: Float64Array | null = null;

  #onFirstUse: ((tally: RouteTally) => void) | null;

  constructor(route: string, onFirstUse: (tally: RouteTally) => void) {
    this.route = route;
    this.#onFirstUse = onFirstUse;
  }

  requestDone(method: string, status: number, gatewaySeconds: number): void {
    let cls = Math.floor(status / 100) - 1;
    if (cls < 0 || cls >= CLASSES) cls = CLASSES - 1;
    if (this.requests === null) this.#used();
    const requests = (this.requests ??= new Float64Array(METHOD_LABELS.length * CLASSES));
    requests[methodSlot(method) * CLASSES + cls]!++;
    (this.added ??= new BucketCounts(ADDED_LATENCY_BUCKETS)).observe(gatewaySeconds);
  }

  upstreamResponded(seconds: number): void {
    if (this.upstream === null) this.#used();
    (this.upstream ??= new BucketCounts(UPSTREAM_LATENCY_BUCKETS)).observe(seconds);
  }

  upstreamFailed(kind: UpstreamErrorKind): void {
    if (this.errors === null) this.#used();
    (this.errors ??= new Float64Array(UPSTREAM_ERROR_KINDS.length))[UPSTREAM_ERROR_KINDS.indexOf(kind)]!++;
  }

  #used(): void {
    const report = this.#onFirstUse;
    if (report === null) return;
    this.#onFirstUse = null;
    report(this);
  }
}

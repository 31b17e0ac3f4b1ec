// Prometheus metrics of one gateway, in its own registry (several gateways can share a process in tests).
// Labels are route ids, a bounded method set, status classes and fixed kinds, never a path or anything else a client
// sends: cardinality is bounded by the table. The per-request numbers are plain arrays (route-tally.ts), read when
// scraped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { UPSTREAM_ERROR_KINDS } from '../forward/upstream-errors.ts';
import type { RouteMetrics } from '../runtime/runtime-types.ts';
import { METHOD_LABELS } from './method-label.ts';
import { ADDED_LATENCY_BUCKETS, RouteTally, STATUS_CLASSES, UPSTREAM_LATENCY_BUCKETS } from './route-tally.ts';
import { TalliedCounter, TalliedHistogram, type TalliedBuckets, type TalliedSample } from './tallied-metrics.ts';

/** Requests that matched no route (404/405/400) are counted under this route label. */
export const NO_ROUTE = '(none)';

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly tableApplies: Counter<'result'>;
  private readonly tableUpdates: Counter<'kind'>;
  private readonly tableInfo: Gauge<'version'>;
  private readonly tableAppliedAt: Gauge;
  private readonly applyStall: Gauge;
  private readonly applyCpu: Gauge;
  private readonly applyStalls: Histogram;
  private readonly wholeApplyStall: Gauge;
  private readonly wholeApplyCpu: Gauge;
  private readonly byRoute = new Map<string, RouteTally>();
  /** The tallies with numbers, in order of first use: what a scrape reads. */
  private readonly used: RouteTally[] = [];
  private readonly markUsed = (tally: RouteTally): void => void this.used.push(tally);
  private servedVersion: string | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const routes = this.used;
    new TalliedCounter(
      {
        name: 'gatehouse_requests_total',
        help: 'Requests answered, by route id, method (the standard ones; any other is OTHER) and status class; requests that matched no route count under route "(none)"',
        labelNames: ['route', 'method', 'status_class'],
        registers: [this.registry],
      },
      () => requestSamples(routes),
    );
    new TalliedHistogram(
      {
        name: 'gatehouse_added_latency_seconds',
        help: "Time the gateway itself spent on a request, by route id: from receiving it to dispatching it upstream, without failed attempts it retried (the upstream's time is gatehouse_upstream_response_seconds); for a request the gateway answered itself (401, 404, 429, 503, …), the whole time to its answer",
        labelNames: ['route'],
        buckets: ADDED_LATENCY_BUCKETS,
        registers: [this.registry],
      },
      () => bucketSeries(routes, 'added'),
    );
    new TalliedHistogram(
      {
        name: 'gatehouse_upstream_response_seconds',
        help: 'Time from dispatching a request upstream to its response headers, by route id',
        labelNames: ['route'],
        buckets: UPSTREAM_LATENCY_BUCKETS,
        registers: [this.registry],
      },
      () => bucketSeries(routes, 'upstream'),
    );
    new TalliedCounter(
      {
        name: 'gatehouse_upstream_errors_total',
        help: `Failed upstream attempts (a retried one too), by route id and kind: ${UPSTREAM_ERROR_KINDS.join(', ')}. pool_closed: the endpoint's pool was retired by a table change; request_timeout: the route's requestMs ran out`,
        labelNames: ['route', 'kind'],
        registers: [this.registry],
      },
      () => errorSamples(routes),
    );
    this.tableApplies = new Counter({
      name: 'gatehouse_table_applies_total',
      help: 'Routing tables offered to the proxy, by result (applied or refused)',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.tableUpdates = new Counter({
      name: 'gatehouse_table_updates_total',
      help: 'Applied table changes by kind: full (routes and router rebuilt), delta (only changed routes and their host buckets rebuilt) or endpoints (backend endpoints only)',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    this.applyStall = new Gauge({
      name: 'gatehouse_table_apply_stall_seconds',
      help: 'The longest event-loop stall while receiving and applying the last table change',
      registers: [this.registry],
    });
    this.applyCpu = new Gauge({
      name: 'gatehouse_table_apply_cpu_seconds',
      help: 'CPU time the process used (all threads) while receiving, applying and persisting the last table change: next to the stall, tells work from waiting for a CPU',
      registers: [this.registry],
    });
    this.applyStalls = new Histogram({
      name: 'gatehouse_table_apply_stall_max_seconds',
      help: 'The longest event-loop stall per applied table change',
      buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1],
      registers: [this.registry],
    });
    this.wholeApplyStall = new Gauge({
      name: 'gatehouse_table_whole_apply_stall_seconds',
      help: 'The longest event-loop stall while the last whole table was applied (joining, a resync, the table file at start); absent before the first',
      registers: [this.registry],
    });
    this.wholeApplyCpu = new Gauge({
      name: 'gatehouse_table_whole_apply_cpu_seconds',
      help: 'CPU time the process used (all threads) while the last whole table was received, applied and persisted; absent before the first',
      registers: [this.registry],
    });
    this.tableInfo = new Gauge({
      name: 'gatehouse_table_info',
      help: 'The routing table version served, as the version label (value 1); absent before the first table',
      labelNames: ['version'],
      registers: [this.registry],
    });
    this.tableAppliedAt = new Gauge({
      name: 'gatehouse_table_last_apply_timestamp_seconds',
      help: 'Unix time the last table change (full, delta or endpoints) was applied; absent before the first',
      registers: [this.registry],
    });
    // A label-less gauge exports 0 from the start, which would read as an apply in 1970.
    this.tableAppliedAt.remove();
    this.wholeApplyStall.remove();
    this.wholeApplyCpu.remove();
    this.tableUpdates.inc({ kind: 'full' }, 0);
    this.tableUpdates.inc({ kind: 'endpoints' }, 0);
    this.tableUpdates.inc({ kind: 'delta' }, 0);
  }

  /** A change that was applied: `full` rebuilt the router, `endpoints` only replaced backends' endpoints. */
  tableUpdated(kind: 'full' | 'endpoints' | 'delta'): void {
    this.tableUpdates.inc({ kind });
  }

  /**
   * The longest event-loop stall seen while a table change was received and applied, and the CPU time it took;
   * `whole` when a whole table was applied in that time (kept apart: later small changes overwrite the last-change gauges).
   */
  applyStalled(seconds: number, cpuSeconds: number, whole: boolean): void {
    this.applyStall.set(seconds);
    this.applyStalls.observe(seconds);
    this.applyCpu.set(cpuSeconds);
    if (whole) {
      this.wholeApplyStall.set(seconds);
      this.wholeApplyCpu.set(cpuSeconds);
    }
  }

  /** The instruments of one route, made once and shared by every table that has the route. */
  forRoute(routeId: string): RouteMetrics {
    let tally = this.byRoute.get(routeId);
    if (tally === undefined) {
      tally = new RouteTally(routeId, this.markUsed);
      this.byRoute.set(routeId, tally);
    }
    return tally;
  }

  /** A table version now served (after a full table, a delta or an endpoint update). */
  serving(version: string): void {
    // One series: the old version's is removed, or every version ever served would stay exported.
    if (this.servedVersion !== undefined && this.servedVersion !== version) this.tableInfo.remove(this.servedVersion);
    this.servedVersion = version;
    this.tableInfo.set({ version }, 1);
    this.tableAppliedAt.set(Date.now() / 1000);
  }

  tableApplied(ok: boolean): void {
    this.tableApplies.inc({ result: ok ? 'applied' : 'refused' });
  }
}

function* requestSamples(tallies: Iterable<RouteTally>): Iterable<TalliedSample<'route' | 'method' | 'status_class'>> {
  for (const t of tallies) {
    const requests = t.requests;
    if (requests === null) continue;
    for (let i = 0; i < requests.length; i++) {
      const value = requests[i]!;
      if (value === 0) continue;
      const method = METHOD_LABELS[Math.floor(i / STATUS_CLASSES.length)]!;
      yield { labels: { route: t.route, method, status_class: STATUS_CLASSES[i % STATUS_CLASSES.length]! }, value };
    }
  }
}

function* bucketSeries(tallies: Iterable<RouteTally>, field: 'added' | 'upstream'): Iterable<TalliedBuckets<'route'>> {
  for (const t of tallies) {
    const buckets = t[field];
    if (buckets !== null) yield { labels: { route: t.route }, buckets };
  }
}

function* errorSamples(tallies: Iterable<RouteTally>): Iterable<TalliedSample<'route' | 'kind'>> {
  for (const t of tallies) {
    const errors = t.errors;
    if (errors === null) continue;
    for (let i = 0; i < errors.length; i++) if (errors[i]! > 0) yield { labels: { route: t.route, kind: UPSTREAM_ERROR_KINDS[i]! }, value: errors[i]! };
  }
}

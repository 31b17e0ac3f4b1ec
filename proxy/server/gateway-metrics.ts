// Prometheus metrics of one gateway, in its own registry (several gateways can share a process in tests).
// Labels are the route id and a status class, never a path: cardinality is bounded by the table.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RouteMetrics } from '../runtime/runtime-types.ts';

/** Requests that matched no route (404/405/400) are counted under this route label. */
export const NO_ROUTE = '(none)';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'status_class'>;
  private readonly upstream: Histogram<'route'>;
  private readonly tableApplies: Counter<'result'>;
  private readonly tableUpdates: Counter<'kind'>;
  private readonly applyStall: Gauge;
  private readonly applyCpu: Gauge;
  private readonly applyStalls: Histogram;
  private readonly byRoute = new Map<string, RouteMetrics>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'gatehouse_requests_total',
      help: 'Requests answered, by route id and status class',
      labelNames: ['route', 'status_class'],
      registers: [this.registry],
    });
    this.upstream = new Histogram({
      name: 'gatehouse_upstream_response_seconds',
      help: 'Time from dispatching a request upstream to its response headers, by route id',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
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
    this.tableUpdates.inc({ kind: 'full' }, 0);
    this.tableUpdates.inc({ kind: 'endpoints' }, 0);
    this.tableUpdates.inc({ kind: 'delta' }, 0);
  }

  /** A change that was applied: `full` rebuilt the router, `endpoints` only replaced backends' endpoints. */
  tableUpdated(kind: 'full' | 'endpoints' | 'delta'): void {
    this.tableUpdates.inc({ kind });
  }

  /** The longest event-loop stall seen while a table change was received and applied, and the CPU time it took. */
  applyStalled(seconds: number, cpuSeconds: number): void {
    this.applyStall.set(seconds);
    this.applyStalls.observe(seconds);
    this.applyCpu.set(cpuSeconds);
  }

  /** The instruments of one route, bound to their labels once and shared by every table that has the route. */
  forRoute(routeId: string): RouteMetrics {
    let metrics = this.byRoute.get(routeId);
    if (metrics === undefined) {
      // Children are bound lazily: a route that only ever answers 2xx exports one series, not five.
      const counters: Array<{ inc: () => void } | undefined> = [undefined, undefined, undefined, undefined, undefined];
      const latency = this.upstream.labels(routeId);
      metrics = {
        requestDone: (status) => {
          let cls = Math.floor(status / 100) - 1;
          if (cls < 0 || cls > 4) cls = 4;
          let counter = counters[cls];
          if (counter === undefined) counters[cls] = counter = this.requests.labels(routeId, STATUS_CLASSES[cls] as string);
          counter.inc();
        },
        upstreamResponded: (seconds) => latency.observe(seconds),
      };
      this.byRoute.set(routeId, metrics);
    }
    return metrics;
  }

  tableApplied(ok: boolean): void {
    this.tableApplies.inc({ result: ok ? 'applied' : 'refused' });
  }
}

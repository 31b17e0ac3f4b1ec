// The controller's Prometheus metrics (served on its admin port): compile work, the table it holds, its informers
// and whether this replica leads.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ControllerMetrics {
  registry: Registry;
  compiles: Counter;
  compileSeconds: Histogram;
  propagationSeconds: Histogram;
  tableRoutes: Gauge;
  resources: Gauge<'kind'>;
  informersSynced: Gauge;
  informerRestarts: Counter<'kind'>;
  statusPatches: Counter;
  statusFailures: Counter;
  leader: Gauge;
}

export function createControllerMetrics(): ControllerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_controller_' });
  const opts = { registers: [registry] };
  return {
    registry,
    compiles: new Counter({ name: 'gatehouse_controller_compiles_total', help: 'Compiles run (one per coalesced burst of changes).', ...opts }),
    compileSeconds: new Histogram({
      name: 'gatehouse_controller_compile_seconds',
      help: 'Time to compile one snapshot.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      ...opts,
    }),
    propagationSeconds: new Histogram({
      name: 'gatehouse_controller_propagation_seconds',
      help: 'From the first change the informers saw to the compiled table that includes it.',
      buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5],
      ...opts,
    }),
    tableRoutes: new Gauge({ name: 'gatehouse_controller_table_routes', help: 'Routes in the current table.', ...opts }),
    resources: new Gauge({ name: 'gatehouse_controller_resources', help: 'Gateway resources seen, by kind.', labelNames: ['kind'], ...opts }),
    informersSynced: new Gauge({ name: 'gatehouse_controller_informers_synced', help: '1 once every informer has listed once.', ...opts }),
    informerRestarts: new Counter({ name: 'gatehouse_controller_informer_restarts_total', help: 'Informer restarts after errors.', labelNames: ['kind'], ...opts }),
    statusPatches: new Counter({ name: 'gatehouse_controller_status_patches_total', help: 'Status subresource patches written.', ...opts }),
    statusFailures: new Counter({ name: 'gatehouse_controller_status_failures_total', help: 'Status writes given up on.', ...opts }),
    leader: new Gauge({ name: 'gatehouse_controller_leader', help: '1 while this replica holds the Lease.', ...opts }),
  };
}

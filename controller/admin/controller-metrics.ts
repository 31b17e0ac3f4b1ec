// The controller's Prometheus metrics (served on its admin port): compile work, the table it holds, its informers and
// the watch events they receive, whether this replica leads, the proxies of the fleet and the tables they serve, fleet
// sharing with the other replicas and the stream's credential reloads. Components are handed the small interfaces they
// report through (fleet-roster.ts, fleet-publisher.ts, credential-reloader.ts), never the registry.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CredentialReloadMetrics } from '../distribute/credential-reloader.ts';
import type { FleetCounts } from '../distribute/distribution.ts';
import type { FleetPublisherMetrics } from '../distribute/fleet-publisher.ts';
import type { FleetRosterMetrics } from '../distribute/fleet-roster.ts';
import { WATCHED_KINDS } from '../sources/kube-watched-kinds.ts';

const WATCH_EVENTS = ['add', 'update', 'delete'] as const;

export interface ControllerMetrics {
  registry: Registry;
  compiles: Counter;
  compileSeconds: Histogram;
  propagationSeconds: Histogram;
  tableRoutes: Gauge;
  resources: Gauge<'kind'>;
  informersSynced: Gauge;
  informerRestarts: Counter<'kind'>;
  /** One object change an informer delivered (the initial list's objects arrive as adds). */
  watchEvent(kind: string, event: (typeof WATCH_EVENTS)[number]): void;
  /** The version of the table this replica compiled and serves. */
  tableVersion(version: string): void;
  /** Where the fleet gauges read from when scraped, once the stream runs (without it they are not exported). */
  readFleet(read: () => FleetCounts): void;
  statusPatches: Counter;
  statusFailures: Counter;
  leader: Gauge;
  fleet: FleetPublisherMetrics & FleetRosterMetrics;
  credentials: CredentialReloadMetrics;
}

export function createControllerMetrics(): ControllerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_controller_' });
  const opts = { registers: [registry] };
  const fleetReplicas = new Gauge({
    name: 'gatehouse_controller_fleet_replicas',
    help: "Other replicas whose fleet report this replica reads, by state: fresh (its proxies count) or stale (no heartbeat within the Lease duration).",
    labelNames: ['state'],
    ...opts,
  });
  const fleetRemoteProxies = new Gauge({ name: 'gatehouse_controller_fleet_remote_proxies', help: "Proxies listed in the other replicas' fresh fleet reports.", ...opts });
  const fleetPublishFailures = new Counter({ name: 'gatehouse_controller_fleet_publish_failures_total', help: "Failed writes of this replica's fleet report (retried on the next change or heartbeat).", ...opts });
  const fleetCollected = new Counter({ name: 'gatehouse_controller_fleet_reports_collected_total', help: 'Fleet reports of long-dead replicas this replica deleted as leader.', ...opts });
  const credentialReloads = new Counter({
    name: 'gatehouse_controller_stream_credential_reloads_total',
    help: 'Changed stream token or TLS files acted on, by kind (token, tls) and outcome (ok: now in use; error: refused or unreadable).',
    labelNames: ['kind', 'outcome'],
    ...opts,
  });
  const credentialLoadedAt = new Gauge({
    name: 'gatehouse_controller_stream_credential_last_reload_timestamp_seconds',
    help: 'Unix time the stream token or TLS certificate in use was loaded: at start, then at each successful reload.',
    labelNames: ['kind'],
    ...opts,
  });
  const watchEvents = new Counter({
    name: 'gatehouse_controller_watch_events_total',
    help: 'Object changes the informers delivered, by kind (ApiRoute, Authorizer, RatePolicy, Service, EndpointSlice, Secret, ConfigMap) and event (add, update, delete; the initial list arrives as adds, status writes as updates)',
    labelNames: ['kind', 'event'],
    ...opts,
  });
  // Zero series from the start, so the first event of a kind shows as an increase.
  for (const kind of WATCHED_KINDS) for (const event of WATCH_EVENTS) watchEvents.inc({ kind, event }, 0);
  const tableInfo = new Gauge({
    name: 'gatehouse_controller_table_info',
    help: 'The version of the table this replica compiled and serves to proxies, as the version label (value 1); absent before the first compile',
    labelNames: ['version'],
    ...opts,
  });
  let tableVersion: string | undefined;
  let fleet: (() => FleetCounts) | undefined;
  new Gauge({
    name: 'gatehouse_controller_fleet_proxies',
    help: "Every proxy of the fleet as this replica counts it (its own and the other replicas' fresh reports, each proxy once), by the table it serves: current (this replica's), other, or none yet",
    labelNames: ['table'],
    ...opts,
    collect() {
      this.reset();
      const counts = fleet?.();
      if (counts === undefined) return;
      this.set({ table: 'current' }, counts.current);
      this.set({ table: 'other' }, counts.other);
      this.set({ table: 'none' }, counts.none);
    },
  });
  new Gauge({
    name: 'gatehouse_controller_stream_proxies',
    help: "Proxies connected to this replica's stream",
    ...opts,
    collect() {
      this.set(fleet?.().connected ?? 0);
    },
  });
  return {
    registry,
    watchEvent: (kind, event) => watchEvents.inc({ kind, event }),
    tableVersion: (version) => {
      // One series: the previous version's is removed.
      if (tableVersion !== undefined && tableVersion !== version) tableInfo.remove(tableVersion);
      tableVersion = version;
      tableInfo.set({ version }, 1);
    },
    readFleet: (read) => {
      fleet = read;
    },
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
    fleet: {
      roster: ({ fresh, stale, proxies }) => {
        fleetReplicas.set({ state: 'fresh' }, fresh);
        fleetReplicas.set({ state: 'stale' }, stale);
        fleetRemoteProxies.set(proxies);
      },
      collected: () => fleetCollected.inc(),
      publishFailed: () => fleetPublishFailures.inc(),
    },
    credentials: {
      loaded: (kind) => {
        credentialLoadedAt.set({ kind }, Date.now() / 1000);
        // Zero series from the start, so the first reload (or failure) shows as an increase.
        for (const outcome of ['ok', 'error']) credentialReloads.inc({ kind, outcome }, 0);
      },
      reloaded: (kind, outcome) => {
        credentialReloads.inc({ kind, outcome });
        if (outcome === 'ok') credentialLoadedAt.set({ kind }, Date.now() / 1000);
      },
    },
  };
}

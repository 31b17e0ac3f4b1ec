// `gatehouse controller`: kube source → compile (feeding back what was accepted) → the latest table, on every
// replica, so any replica can serve proxies. Only the Lease holder writes statuses (and Events). The admin port
// shows health, readiness, metrics and the current table.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { RoutingTable } from '../proxy/table/table-schema.ts';
import { compile } from './compile/compile.ts';
import { JwksHealthWatch } from './sources/jwks-health.ts';
import type { ResourceStatus } from './compile/compile-types.ts';
import { createControllerAdmin } from './admin/controller-admin.ts';
import { createControllerMetrics } from './admin/controller-metrics.ts';
import { startDistribution, type DistributionOptions } from './distribute/distribution.ts';
import { LeaseElector, type LeaseElectorOptions } from './leader/lease-elector.ts';
import { resourceKey } from './compile/resource-key.ts';
import { BurstCoalescer } from './sources/burst-coalescer.ts';
import { KubeSource, type KubeSnapshot, type LiveState } from './sources/kube-source.ts';
import { SharedConnectionKubeConfig } from './sources/kube-shared-connections.ts';
import { EventRecorder } from './status/event-recorder.ts';
import { OwnStatusWrites } from './status/own-status-writes.ts';
import { StatusWriter } from './status/status-writer.ts';
import { StatusSync } from './status-sync.ts';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Empty or undefined: all namespaces. */
  namespaces?: readonly string[];
  secretSelector?: string;
  configMapSelector?: string;
  /** The proxy-wide default certificate's Secret (--default-tls-secret); it needs the secret selector's label too. */
  defaultTlsSecret?: { namespace: string; name: string };
  adminHost?: string;
  adminPort: number;
  lease: Pick<LeaseElectorOptions, 'namespace' | 'name' | 'identity' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;
  /** Coalescing of change bursts into compiles. */
  quietMs?: number;
  maxDelayMs?: number;
  /** Serve tables to proxies on a stream port and report Programmed conditions; off when undefined. */
  distribution?: DistributionOptions;
  /** How often JWKS URIs are fetched for the Authorizers' status. Default 60 s. */
  jwksCheckIntervalMs?: number;
  /** In-process hook after every compile (benchmarks, tests). */
  onCompiled?: (state: CompiledState, snapshot: KubeSnapshot) => void;
}

export interface CompiledState {
  table: RoutingTable;
  statuses: ResourceStatus[];
  /** Counts compiles since start. */
  sequence: number;
  compiledAt: number;
  compileMs: number;
}

export interface RunningController {
  adminPort: number;
  current(): CompiledState | undefined;
  isLeader(): boolean;
  compiles(): number;
  /** The proxies' stream port, when distribution is on. */
  streamPort?: number;
  /** True when the status writer has been idle for `ms` (nothing written, queued or retrying). */
  statusIdleFor(ms: number): boolean;
  close(): Promise<void>;
}

export async function runController(opts: ControllerOptions): Promise<RunningController> {
  const log = opts.logger.child({ component: 'controller' });
  // One connection pool for every API call this controller makes (see kube-shared-connections.ts).
  const kubeConfig = SharedConnectionKubeConfig.from(opts.kubeConfig);
  const metrics = createControllerMetrics();
  let current: CompiledState | undefined;
  let lastAccepted = new Map<string, unknown>();
  let defaultCertificateProblem: string | null = null;
  let lastProblems = '';
  let sequence = 0;

  const ownWrites = new OwnStatusWrites();
  const writer = new StatusWriter({
    kubeConfig,
    // Counted as each patch lands, not when its batch ends (10k statuses are one batch of ~30 s).
    onPatched: (key, resourceVersion) => {
      metrics.statusPatches.inc();
      if (resourceVersion !== undefined) ownWrites.record(key, resourceVersion);
    },
    logger: opts.logger.child({ component: 'status-writer' }),
    events: new EventRecorder({ kubeConfig, logger: opts.logger.child({ component: 'events' }), instance: opts.lease.identity }),
  });
  const statusSync = new StatusSync(writer, log, (r) => metrics.statusFailures.inc(r.failed));
  /**
   * Statuses already handed to the status sync after a compile. The incremental compile returns the same status
   * object while a resource's status is unchanged, so a compile hands over only new ones: planning all 10k against
   * the live objects on every change was ~65 MB of garbage per API write. Other live changes are re-checked via
   * onLiveChange, and a new leader hands over everything (onStartedLeading).
   */
  const handed = new WeakSet<ResourceStatus>();
  const notHandedYet = (statuses: readonly ResourceStatus[]): ResourceStatus[] => {
    const fresh = statuses.filter((s) => !handed.has(s));
    for (const s of fresh) handed.add(s);
    return fresh;
  };

  // Statuses follow JWKS health: a change compiles again (the table stays the same; the Authorizers' status moves).
  const jwksHealth = new JwksHealthWatch({
    logger: opts.logger,
    ...(opts.jwksCheckIntervalMs !== undefined && { intervalMs: opts.jwksCheckIntervalMs }),
    onChange: () => {
      if (current !== undefined) onSnapshot({ ...source.snapshot(), firstChangeAt: 0 });
    },
  });

  const onSnapshot = (snapshot: KubeSnapshot): void => {
    const started = performance.now();
    const out = compile({
      ...snapshot.input,
      lastAccepted,
      jwksHealth: jwksHealth.health(),
      ...(opts.defaultTlsSecret && { defaultTlsSecret: opts.defaultTlsSecret }),
      now: Date.now(),
    });
    if (out.defaultCertificateProblem !== defaultCertificateProblem) {
      defaultCertificateProblem = out.defaultCertificateProblem;
      if (defaultCertificateProblem !== null) log.warn({ problem: defaultCertificateProblem }, 'default certificate');
    }
    const compileMs = performance.now() - started;
    lastAccepted = out.accepted;
    const previousVersion = current?.table.version;
    current = { table: out.table, statuses: out.statuses, sequence: ++sequence, compiledAt: Date.now(), compileMs };
    distribution?.publish(out.table, out.statuses, current.sequence);
    jwksHealth.watch(out.table);

    metrics.compiles.inc();
    metrics.compileSeconds.observe(compileMs / 1000);
    if (snapshot.firstChangeAt > 0) metrics.propagationSeconds.observe((current.compiledAt - snapshot.firstChangeAt) / 1000);
    metrics.tableRoutes.set(out.table.routes.length);
    metrics.tableVersion(out.table.version);
    const perKind = { ApiRoute: 0, Authorizer: 0, RatePolicy: 0 };
    for (const r of snapshot.input.resources) perKind[r.kind]++;
    for (const [kind, count] of Object.entries(perKind)) metrics.resources.set({ kind }, count);
    if (out.table.version !== previousVersion) {
      log.info({ version: out.table.version, routes: out.table.routes.length, compileMs: Math.round(compileMs) }, 'table compiled');
    }
    const problems = snapshot.problems.join('\n');
    if (problems !== lastProblems) {
      if (snapshot.problems.length > 0) log.warn({ problems: snapshot.problems }, 'objects the compiler cannot read');
      lastProblems = problems;
    }
    opts.onCompiled?.(current, snapshot);
    const fresh = notHandedYet(out.statuses);
    if (fresh.length > 0) statusSync.push(withProgrammed(fresh), snapshot.live);
  };

  // Status-only changes need no compile; the leader re-checks just those resources, so a status someone else
  // overwrote is put back. The echoes of its own writes (most of these changes) are skipped.
  const liveChanged = new Set<string>();
  const recheck = new BurstCoalescer({
    quietMs: 100,
    maxDelayMs: 1000,
    run: () => {
      const changed = [...liveChanged];
      liveChanged.clear();
      ownWrites.forgetOld();
      if (!current || !elector.isLeader()) return;
      const live = source.liveStates(changed);
      const wanted = new Set(changed.filter((key) => !ownWrites.isEcho(key, live.get(key)?.resourceVersion)));
      if (wanted.size === 0) return;
      statusSync.push(
        withProgrammed(current.statuses.filter((s) => wanted.has(resourceKey(s)))),
        live,
      );
    },
    onError: (err) => log.error({ err }, 'status re-check failed'),
  });

  const source = new KubeSource({
    kubeConfig,
    logger: opts.logger,
    ...(opts.namespaces && { namespaces: opts.namespaces }),
    ...(opts.secretSelector && { secretSelector: opts.secretSelector }),
    ...(opts.configMapSelector && { configMapSelector: opts.configMapSelector }),
    ...(opts.quietMs !== undefined && { quietMs: opts.quietMs }),
    ...(opts.maxDelayMs !== undefined && { maxDelayMs: opts.maxDelayMs }),
    onSnapshot,
    onInformerRestart: (kind) => metrics.informerRestarts.inc({ kind }),
    onWatchEvent: (kind, event) => metrics.watchEvent(kind, event),
    onLiveChange: (key) => {
      liveChanged.add(key);
      recheck.poke();
    },
  });

  const elector = new LeaseElector({
    kubeConfig,
    namespace: opts.lease.namespace,
    name: opts.lease.name,
    identity: opts.lease.identity,
    leaseDurationMs: opts.lease.leaseDurationMs ?? 15_000,
    renewDeadlineMs: opts.lease.renewDeadlineMs ?? 10_000,
    retryPeriodMs: opts.lease.retryPeriodMs ?? 2_000,
    logger: opts.logger.child({ component: 'leader' }),
    onStartedLeading: () => {
      log.info({ identity: opts.lease.identity }, 'leading: writing statuses');
      metrics.leader.set(1);
      statusSync.setEnabled(true);
      // Catch up at once: the statuses of the latest compile may never have been written by anyone.
      if (current) statusSync.push(withProgrammed(current.statuses), liveNow(current.statuses));
    },
    onStoppedLeading: () => {
      log.info({ identity: opts.lease.identity }, 'no longer leading: statuses left to the new leader');
      metrics.leader.set(0);
      statusSync.setEnabled(false);
    },
  });

  // Distribute: every replica serves the stream; the Programmed conditions it computes are written by the leader,
  // refreshed (coalesced) whenever a proxy connects, ACKs, NACKs or leaves.
  const fleetChanged = new BurstCoalescer({
    quietMs: 200,
    maxDelayMs: 1000,
    run: () => {
      if (!current || !elector.isLeader() || !distribution) return;
      const changed = distribution.changedProgrammed(current.statuses);
      if (changed.length > 0) statusSync.push(changed, liveNow(changed));
    },
    onError: (err) => log.error({ err }, 'Programmed refresh failed'),
  });
  // Replicas share their fleets through the Lease's namespace, so the leader counts proxies on every replica.
  const fleetSharing = {
    kubeConfig,
    namespace: opts.lease.namespace,
    group: opts.lease.name,
    replica: opts.lease.identity,
    leaseDurationMs: opts.lease.leaseDurationMs ?? 15_000,
    isLeader: () => elector.isLeader(),
  };
  const distribution = opts.distribution ? await startDistribution(opts.distribution, opts.logger, metrics, () => fleetChanged.poke(), fleetSharing) : undefined;
  if (distribution) metrics.readFleet(() => distribution.fleetCounts());
  // The informers' objects now, not the last compile's snapshot: status writes since then (our own) are not in
  // that snapshot, and a plan against it can judge a needed patch "unchanged" (6/6 written, then 5/5 looks done).
  function liveNow(statuses: readonly ResourceStatus[]): Map<string, LiveState> {
    return source.liveStates(statuses.map(resourceKey));
  }

  function withProgrammed(statuses: ResourceStatus[]): ResourceStatus[] {
    return distribution ? distribution.withProgrammed(statuses) : statuses;
  }

  const admin = createControllerAdmin({
    ...(distribution && { fleet: () => distribution.fleetReport(opts.lease.identity, elector.isLeader()) }),
    registry: metrics.registry,
    logger: log,
    informersSynced: () => source.synced,
    current: () => current,
    isLeader: () => elector.isLeader(),
    informerStates: () => source.informerStates(),
  });
  admin.listen(opts.adminPort, opts.adminHost ?? '0.0.0.0');
  await once(admin, 'listening');
  const adminPort = (admin.address() as AddressInfo).port;
  const syncedGauge = setInterval(() => metrics.informersSynced.set(source.synced ? 1 : 0), 1000);
  syncedGauge.unref();

  source.start();
  elector.start();

  return {
    adminPort,
    current: () => current,
    isLeader: () => elector.isLeader(),
    compiles: () => sequence,
    ...(distribution && { streamPort: distribution.port }),
    statusIdleFor: (ms) => statusSync.idleFor(ms),
    close: async () => {
      clearInterval(syncedGauge);
      jwksHealth.close();
      recheck.close();
      fleetChanged.close();
      await distribution?.close();
      statusSync.close();
      await Promise.allSettled([source.stop(), elector.stop()]);
      await kubeConfig.closeConnections();
      admin.closeAllConnections();
      await new Promise<void>((resolve) => admin.close(() => resolve()));
    },
  };
}

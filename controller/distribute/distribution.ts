// Distribute, as the controller sees it: the stream server, the fleet it tracks, and the Programmed conditions
// computed from that fleet. The controller hands it every compile; it hands back statuses with Programmed added
// and says when the fleet changed (so the leader can refresh those conditions). With fleet sharing on, this replica
// publishes its proxies for the leader and reads the other replicas' (fleet-publisher.ts, fleet-roster.ts), so the
// conditions count every proxy, whichever replica it is connected to. The token and TLS files are re-read while it
// runs (credential-reloader.ts).
import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';
import type { ResourceStatus } from '../compile/compile-types.ts';
import { CredentialReloader, type CredentialReloadMetrics } from './credential-reloader.ts';
import { mergeFleets } from './fleet-merge.ts';
import { FleetPublisher, type FleetPublisherMetrics } from './fleet-publisher.ts';
import type { FleetProxy, ReplicaProxy } from './fleet-report.ts';
import { FleetRoster, type FleetRosterMetrics } from './fleet-roster.ts';
import { FleetTracker } from './fleet-tracker.ts';
import { ProgrammedConditions } from './programmed-conditions.ts';
import { SnapshotStream } from './snapshot-stream.ts';
import { RotatingToken, StreamToken } from './stream-token.ts';

export interface DistributionOptions {
  port: number;
  host?: string;
  tokenFile: string;
  /** Both or neither: PEM files of the stream's TLS certificate and key. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  pingMs?: number;
  /** How long the previous token is still admitted after the token file changed; default 120 s. */
  tokenGraceMs?: number;
  /** How often the token and TLS files are re-read; default 2 s. */
  credentialPollMs?: number;
}

/** Where replicas share their fleets: the controller's namespace, one object per replica. */
export interface FleetSharing {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The controller deployment (its Lease name). */
  group: string;
  replica: string;
  /** The Lease duration: a replica silent this long is presumed dead, for its proxies as for leadership. */
  leaseDurationMs: number;
  isLeader: () => boolean;
}

/** What distribution reports to the controller's metrics (controller-metrics.ts implements it). */
export interface DistributionMetrics {
  fleet: FleetPublisherMetrics & FleetRosterMetrics;
  credentials: CredentialReloadMetrics;
}

/** The fleet as the metrics show it. */
export interface FleetCounts {
  /** Proxies connected to this replica. */
  connected: number;
  /** Every proxy of the fleet (this replica's and the other replicas' fresh reports, each once), by the table it serves. */
  current: number;
  other: number;
  none: number;
}

export interface Distribution {
  port: number;
  publish(table: RoutingTable, statuses: readonly ResourceStatus[], sequence: number): void;
  withProgrammed(statuses: readonly ResourceStatus[]): ResourceStatus[];
  /** Only the statuses whose Programmed condition changed since last handed out (a fleet change), with it added. */
  changedProgrammed(statuses: readonly ResourceStatus[]): ResourceStatus[];
  /** The /debug/fleet page body. */
  fleetReport(identity: string, leader: boolean): unknown;
  fleetCounts(): FleetCounts;
  stream: SnapshotStream;
  close(): Promise<void>;
}

export const DEFAULT_TOKEN_GRACE_MS = 120_000;

export async function startDistribution(opts: DistributionOptions, logger: Logger, metrics: DistributionMetrics, onFleetChange: () => void, sharing?: FleetSharing): Promise<Distribution> {
  if ((opts.tlsCertFile === undefined) !== (opts.tlsKeyFile === undefined)) throw new Error('the stream needs both a TLS certificate and a key, or neither');
  const tokenText = await readFile(opts.tokenFile, 'utf8');
  const token = new RotatingToken(StreamToken.parse(tokenText, opts.tokenFile), opts.tokenGraceMs ?? DEFAULT_TOKEN_GRACE_MS);
  const tls = opts.tlsCertFile && opts.tlsKeyFile ? { cert: await readFile(opts.tlsCertFile), key: await readFile(opts.tlsKeyFile) } : undefined;

  let publisher: FleetPublisher | undefined;
  // Every change of the fleet (a proxy here, another replica's report) also tells the proxies its new size.
  const fleetChanged = (): void => {
    stream.setFleetSize(everyProxy().length);
    onFleetChange();
  };
  const fleet = new FleetTracker(() => {
    publisher?.poke();
    fleetChanged();
  });
  const programmed = new ProgrammedConditions();
  const stream = new SnapshotStream({ port: opts.port, ...(opts.host && { host: opts.host }), token, ...(tls && { tls }), fleet, logger, ...(opts.pingMs && { pingMs: opts.pingMs }) });
  const port = await stream.listen();

  const reloader = new CredentialReloader({
    tokenFile: opts.tokenFile,
    initialToken: tokenText,
    token,
    ...(tls && opts.tlsCertFile && opts.tlsKeyFile && { tls: { certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile, initial: tls, apply: (pem) => stream.setTls(pem) } }),
    intervalMs: opts.credentialPollMs ?? 2_000,
    logger,
    metrics: metrics.credentials,
  });
  reloader.start();

  const localProxies = (): FleetProxy[] =>
    fleet.list().map((p) => ({ name: p.name, connectedAt: p.connectedAt, version: p.version, lastAckAt: p.lastAckAt, lastError: p.lastError }));
  let roster: FleetRoster | undefined;
  if (sharing) {
    // A heartbeat every third of the window: two can be lost before the replica counts as gone.
    const timings = { staleAfterMs: sharing.leaseDurationMs, heartbeatMs: Math.max(250, Math.round(sharing.leaseDurationMs / 3)) };
    publisher = new FleetPublisher({ kubeConfig: sharing.kubeConfig, namespace: sharing.namespace, group: sharing.group, replica: sharing.replica, heartbeatMs: timings.heartbeatMs, proxies: localProxies, logger, metrics: metrics.fleet });
    roster = new FleetRoster({
      kubeConfig: sharing.kubeConfig,
      namespace: sharing.namespace,
      group: sharing.group,
      ownObject: publisher.name,
      staleAfterMs: timings.staleAfterMs,
      isLeader: sharing.isLeader,
      onChange: fleetChanged,
      logger,
      metrics: metrics.fleet,
    });
    publisher.start();
    roster.start();
  }
  const identity = sharing?.replica ?? '';
  const everyProxy = (): ReplicaProxy[] => mergeFleets(identity, localProxies(), roster?.proxies() ?? []);

  return {
    port,
    stream,
    publish: (table, statuses, sequence) => {
      programmed.noteCompile(statuses, table.version, sequence);
      stream.publish(table);
    },
    withProgrammed: (statuses) => programmed.withProgrammed(statuses, everyProxy()),
    changedProgrammed: (statuses) => programmed.changedProgrammed(statuses, everyProxy()),
    fleetCounts: () => {
      const current = stream.currentVersion();
      const counts = { connected: fleet.list().length, current: 0, other: 0, none: 0 };
      for (const p of everyProxy()) {
        if (p.version === null) counts.none++;
        else if (p.version === current) counts.current++;
        else counts.other++;
      }
      return counts;
    },
    fleetReport: (replica, leader) => {
      const current = stream.currentVersion() ?? null;
      const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
      return {
        replica,
        leader,
        version: current,
        tls: tls !== undefined,
        credentials: { token: token.state(), certificate: reloader.certificate ?? null },
        sent: stream.sentCounts,
        proxies: fleet.list().map((p) => ({
          name: p.name,
          remote: p.remote,
          connectedAt: new Date(p.connectedAt).toISOString(),
          version: p.version,
          current: p.version !== null && p.version === current,
          pending: p.pending,
          lastAckAt: iso(p.lastAckAt),
          lastError: p.lastError === null ? null : { version: p.lastError.version, error: p.lastError.error, at: new Date(p.lastError.at).toISOString() },
        })),
        // What the Programmed conditions count: every proxy once, on whichever replica its newest connection is.
        fleet: roster === undefined
          ? null
          : {
              replicas: roster.replicas(),
              counted: everyProxy().map((p) => ({ name: p.name, replica: p.replica, version: p.version, current: p.version !== null && p.version === current, lastAckAt: iso(p.lastAckAt), lastError: p.lastError === null ? null : { version: p.lastError.version, error: p.lastError.error } })),
            },
      };
    },
    close: async () => {
      reloader.stop();
      await stream.close();
      await Promise.allSettled([publisher?.close(), roster?.stop()]);
    },
  };
}

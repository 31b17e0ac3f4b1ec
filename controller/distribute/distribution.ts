// Distribute, as the controller sees it: the stream server, the fleet it tracks, and the Programmed conditions
// computed from that fleet. The controller hands it every compile; it hands back statuses with Programmed added
// and says when the fleet changed (so the leader can refresh those conditions).
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';
import type { ResourceStatus } from '../compile/compile-types.ts';
import { FleetTracker } from './fleet-tracker.ts';
import { ProgrammedConditions } from './programmed-conditions.ts';
import { SnapshotStream } from './snapshot-stream.ts';
import { StreamToken } from './stream-token.ts';

export interface DistributionOptions {
  port: number;
  host?: string;
  tokenFile: string;
  /** Both or neither: PEM files of the stream's TLS certificate and key. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  pingMs?: number;
}

export interface Distribution {
  port: number;
  publish(table: RoutingTable, statuses: readonly ResourceStatus[], sequence: number): void;
  withProgrammed(statuses: readonly ResourceStatus[]): ResourceStatus[];
  /** The /debug/fleet page body. */
  fleetReport(identity: string, leader: boolean): unknown;
  stream: SnapshotStream;
  close(): Promise<void>;
}

export async function startDistribution(opts: DistributionOptions, logger: Logger, onFleetChange: () => void): Promise<Distribution> {
  if ((opts.tlsCertFile === undefined) !== (opts.tlsKeyFile === undefined)) throw new Error('the stream needs both a TLS certificate and a key, or neither');
  const token = await StreamToken.fromFile(opts.tokenFile);
  const tls = opts.tlsCertFile && opts.tlsKeyFile ? { cert: await readFile(opts.tlsCertFile), key: await readFile(opts.tlsKeyFile) } : undefined;
  const fleet = new FleetTracker(onFleetChange);
  const programmed = new ProgrammedConditions();
  const stream = new SnapshotStream({ port: opts.port, ...(opts.host && { host: opts.host }), token, ...(tls && { tls }), fleet, logger, ...(opts.pingMs && { pingMs: opts.pingMs }) });
  const port = await stream.listen();
  return {
    port,
    stream,
    publish: (table, statuses, sequence) => {
      programmed.noteCompile(statuses, table.version, sequence);
      stream.publish(table);
    },
    withProgrammed: (statuses) => programmed.withProgrammed(statuses, fleet.list()),
    fleetReport: (identity, leader) => ({
      replica: identity,
      leader,
      version: stream.currentVersion() ?? null,
      tls: tls !== undefined,
      sent: stream.sentCounts,
      proxies: fleet.list().map((p) => ({
        name: p.name,
        remote: p.remote,
        connectedAt: new Date(p.connectedAt).toISOString(),
        version: p.version,
        current: p.version !== null && p.version === stream.currentVersion(),
        pending: p.pending,
        lastAckAt: p.lastAckAt === null ? null : new Date(p.lastAckAt).toISOString(),
        lastError: p.lastError === null ? null : { version: p.lastError.version, error: p.lastError.error, at: new Date(p.lastError.at).toISOString() },
      })),
    }),
    close: () => stream.close(),
  };
}

// The whole fleet as the leader counts it: its own proxies plus those the other fresh replicas report. A proxy that
// moved from one replica to another can be listed by both for a while (the old replica has not noticed the dead
// socket yet, or has not published since), so each proxy name counts once: the record of its newest connection wins,
// and on a tie this replica's own record (it is live, not a report).
import type { FleetProxy, ReplicaProxy } from './fleet-report.ts';

export function mergeFleets(localReplica: string, local: readonly FleetProxy[], remote: readonly ReplicaProxy[]): ReplicaProxy[] {
  const byName = new Map<string, ReplicaProxy>();
  const offer = (p: ReplicaProxy, isLocal: boolean): void => {
    const held = byName.get(p.name);
    if (held === undefined || p.connectedAt > held.connectedAt || (isLocal && p.connectedAt === held.connectedAt)) byName.set(p.name, p);
  };
  for (const p of remote) offer(p, false);
  for (const p of local) offer({ ...p, replica: localReplica }, true);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// The pure half of leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection:
// a lease is expired when it has not changed for leaseDurationSeconds *as measured by our own clock* since we
// last saw it change. Remote timestamps are never compared with the local clock, so clock skew between
// replicas cannot make two of them lead at once.
import { V1MicroTime, type V1LeaseSpec } from '@kubernetes/client-node';

/** The fields of Lease.spec that make up the leader record, times as the strings the API server returned. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** The last record we saw and when it changed, on a monotonic local clock (ms). */
export interface Observation {
  fingerprint: string;
  atMs: number;
}

export type LeaseDecision =
  /** No Lease object yet: create it holding it. */
  | { action: 'create' }
  /** We hold it: renew. */
  | { action: 'renew' }
  /** Free (released) or expired: take it over. */
  | { action: 'acquire' }
  /** Someone else holds a lease that has not expired yet. */
  | { action: 'wait'; holder: string; expiresInMs: number };

export function readRecord(spec: V1LeaseSpec | undefined): LeaseRecord {
  const record: LeaseRecord = {};
  if (!spec) return record;
  if (spec.holderIdentity) record.holderIdentity = spec.holderIdentity;
  if (spec.leaseDurationSeconds !== undefined) record.leaseDurationSeconds = spec.leaseDurationSeconds;
  const acquire = timeString(spec.acquireTime);
  if (acquire !== undefined) record.acquireTime = acquire;
  const renew = timeString(spec.renewTime);
  if (renew !== undefined) record.renewTime = renew;
  if (spec.leaseTransitions !== undefined) record.leaseTransitions = spec.leaseTransitions;
  return record;
}

/** client-node declares MicroTime fields as Date but hands back the raw string it parsed; accept both. */
function timeString(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : undefined;
}

export function fingerprint(record: LeaseRecord): string {
  return JSON.stringify([record.holderIdentity ?? '', record.leaseDurationSeconds ?? 0, record.acquireTime ?? '', record.renewTime ?? '', record.leaseTransitions ?? 0]);
}

/** Keeps the time of the last *change*: a record seen again unchanged does not restart the expiry clock. */
export function observe(previous: Observation | undefined, record: LeaseRecord, nowMs: number): Observation {
  const print = fingerprint(record);
  return previous?.fingerprint === print ? previous : { fingerprint: print, atMs: nowMs };
}

export function decide(input: {
  record: LeaseRecord | undefined;
  observation: Observation | undefined;
  identity: string;
  nowMs: number;
  /** Used when the record carries no duration. */
  leaseDurationMs: number;
}): LeaseDecision {
  const { record, observation, identity, nowMs } = input;
  if (record === undefined) return { action: 'create' };
  const holder = record.holderIdentity ?? '';
  if (holder === identity) return { action: 'renew' };
  if (holder === '') return { action: 'acquire' };
  const durationMs = record.leaseDurationSeconds !== undefined && record.leaseDurationSeconds > 0 ? record.leaseDurationSeconds * 1000 : input.leaseDurationMs;
  // Not observed yet means we just read it: its expiry clock starts now.
  const seenAt = observation?.fingerprint === fingerprint(record) ? observation.atMs : nowMs;
  const expiresInMs = seenAt + durationMs - nowMs;
  if (expiresInMs > 0) return { action: 'wait', holder, expiresInMs };
  return { action: 'acquire' };
}

/** The spec to write for a create, renew or acquire. Times are MicroTime: RFC 3339 with six fractional digits. */
export function nextSpec(action: 'create' | 'renew' | 'acquire', old: LeaseRecord | undefined, identity: string, leaseDurationSeconds: number, now: Date): V1LeaseSpec {
  const stamp = new V1MicroTime(now.getTime());
  const spec: V1LeaseSpec = { holderIdentity: identity, leaseDurationSeconds, renewTime: stamp };
  if (action === 'renew' && old?.acquireTime !== undefined) {
    spec.acquireTime = new V1MicroTime(old.acquireTime);
    spec.leaseTransitions = old.leaseTransitions ?? 0;
  } else {
    spec.acquireTime = stamp;
    spec.leaseTransitions = action === 'acquire' ? (old?.leaseTransitions ?? 0) + 1 : action === 'renew' ? (old?.leaseTransitions ?? 0) : 0;
  }
  return spec;
}

/** What a graceful stop writes: no holder, so the next candidate acquires on its next try instead of waiting out the lease. */
export function releasedSpec(old: LeaseRecord, now: Date): V1LeaseSpec {
  const stamp = new V1MicroTime(now.getTime());
  return { leaseDurationSeconds: 1, acquireTime: stamp, renewTime: stamp, leaseTransitions: old.leaseTransitions ?? 0 };
}

/** How MicroTime values go on the wire (client-node's V1MicroTime.toISOString). */
export function microTime(date: Date): string {
  return new V1MicroTime(date.getTime()).toISOString();
}

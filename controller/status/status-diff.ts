// Decides what status a resource should have and whether that differs from what the API server holds.
// Pure: the caller passes the clock reading, so recompiles that change nothing produce nothing to write.
import type { Condition } from '../../crds/schemas/index.ts';
import type { ResourceStatus } from '../compile/compile-types.ts';
import { isProblem } from './status-report.ts';

/** Condition types the compiler produces; every other type on a live object belongs to someone else (e.g. Programmed). */
export const COMPILER_CONDITION_TYPES: readonly string[] = ['Accepted', 'ResolvedRefs', 'Conflicted'];

/** A condition as written to the API server: timestamps and generation filled in. */
export type WrittenCondition = Condition & { lastTransitionTime: string };

/** The part of `.status` this writer sets; other top-level status fields are left alone by the merge patch. */
export interface DesiredStatus {
  observedGeneration?: number;
  /** Owned conditions from the compile plus unowned ones kept verbatim from the live object, sorted by type. */
  conditions: Record<string, unknown>[];
}

/** A problem condition that is new or says something new: worth one Warning event. */
export interface Rejection {
  type: string;
  reason: string;
  message: string;
}

export interface StatusPlan {
  desired: DesiredStatus;
  /** False when the live status already says exactly this: no patch. */
  changed: boolean;
  rejections: Rejection[];
}

/** Kubernetes condition times are RFC 3339 with second precision (metav1.Time). */
export function conditionTime(now: Date): string {
  return new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function planStatus(
  compiled: ResourceStatus,
  live: { generation?: number; status?: unknown } | undefined,
  now: Date,
  ownedTypes: readonly string[] = COMPILER_CONDITION_TYPES,
): StatusPlan {
  const owned = new Set(ownedTypes);
  const liveStatus = readStatus(live?.status);
  const liveByType = new Map(liveStatus.conditions.map((c) => [c.type, c]));
  const generation = compiled.generation ?? live?.generation;
  const stamp = conditionTime(now);

  const conditions: Record<string, unknown>[] = [];
  const rejections: Rejection[] = [];
  for (const c of compiled.conditions) {
    const before = liveByType.get(c.type);
    // A new time only on a transition: the same status keeps its time however often we recompile.
    const kept = before && before.fields.status === c.status && typeof before.fields.lastTransitionTime === 'string';
    const written: WrittenCondition = {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      lastTransitionTime: kept ? (before.fields.lastTransitionTime as string) : stamp,
    };
    conditions.push(written);
    if (isProblem(c) && !(before && before.fields.status === c.status && before.fields.message === c.message)) {
      rejections.push({ type: c.type, reason: c.reason, message: c.message });
    }
  }
  const compiledTypes = new Set(compiled.conditions.map((c) => c.type));
  for (const c of liveStatus.conditions) {
    // Owned types the compile no longer reports (a resolved conflict) are dropped; others are not ours to touch.
    if (!owned.has(c.type) && !compiledTypes.has(c.type)) conditions.push(c.fields);
  }
  conditions.sort((a, b) => compareType(String(a.type), String(b.type)));

  const desired: DesiredStatus = { ...(generation === undefined ? {} : { observedGeneration: generation }), conditions };
  return { desired, changed: !sameStatus(desired, liveStatus), rejections };
}

interface LiveCondition {
  type: string;
  fields: Record<string, unknown>;
}

interface LiveStatus {
  observedGeneration: unknown;
  conditions: LiveCondition[];
}

/** Reads whatever the API server returned without trusting its shape (another writer may have put anything there). */
function readStatus(status: unknown): LiveStatus {
  if (!isRecord(status)) return { observedGeneration: undefined, conditions: [] };
  const raw = Array.isArray(status.conditions) ? status.conditions : [];
  const conditions: LiveCondition[] = [];
  for (const c of raw) if (isRecord(c) && typeof c.type === 'string') conditions.push({ type: c.type, fields: c });
  return { observedGeneration: status.observedGeneration, conditions };
}

function sameStatus(desired: DesiredStatus, live: LiveStatus): boolean {
  if (desired.observedGeneration !== live.observedGeneration) return false;
  if (desired.conditions.length !== live.conditions.length) return false;
  const liveByType = new Map(live.conditions.map((c) => [c.type, c.fields]));
  if (liveByType.size !== live.conditions.length) return false; // duplicate types: rewrite to a clean list
  return desired.conditions.every((c) => deepEqual(c, liveByType.get(String(c.type))));
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isRecord(a) && isRecord(b) && !Array.isArray(b)) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    const otherKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    return keys.length === otherKeys.length && keys.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function compareType(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Turns compile statuses into the lines a person reads on a terminal (standalone stderr, `gatehouse validate`).
import type { Condition } from '../../crds/schemas/index.ts';
import type { RawResource, ResourceStatus } from '../compile/compile-types.ts';

export function resourceKey(r: { kind: string; namespace: string; name: string }): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}

/** A condition is a problem when it says the resource is not (fully) served as written. */
export function isProblem(c: Condition): boolean {
  if (c.type === 'Conflicted') return c.status === 'True';
  return (c.type === 'Accepted' || c.type === 'ResolvedRefs') && c.status === 'False';
}

export function originsByKey(resources: RawResource[]): Map<string, string> {
  const origins = new Map<string, string>();
  for (const r of resources) if (r.origin) origins.set(resourceKey(r), r.origin);
  return origins;
}

function label(status: ResourceStatus, origins: Map<string, string>): string {
  const origin = origins.get(resourceKey(status));
  return `${origin ? `${origin} ` : ''}${status.kind} ${status.namespace}/${status.name}`;
}

export function formatCondition(c: Condition): string {
  return `${c.type}=${c.status} (${c.reason}): ${c.message}`;
}

/** One line per problem condition; an empty list means everything is served as written. */
export function problemLines(statuses: ResourceStatus[], origins: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const s of statuses) {
    for (const c of s.conditions) if (isProblem(c)) lines.push(`${label(s, origins)}: ${formatCondition(c)}`);
  }
  return lines;
}

/** Every condition of every resource, grouped by resource (for `gatehouse validate`). */
export function fullReport(statuses: ResourceStatus[], origins: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const s of statuses) {
    const bad = s.conditions.some(isProblem);
    lines.push(`${bad ? '✗' : '✓'} ${label(s, origins)}`);
    for (const c of s.conditions) lines.push(`    ${formatCondition(c)}`);
  }
  return lines;
}

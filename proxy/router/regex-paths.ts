// Regex routes, tried in table order. A linear scan: fine for the handful a table has, and the
// reason regex routes come last in precedence.
import { collectAllowed, fullyMatches, type Candidate } from './candidate.ts';
import { changedList, type KeyChange } from './keyed-lists.ts';
import type { MatchInput } from './route-index-types.ts';

export interface RegexHit {
  readonly candidate: Candidate;
  /** Named groups (decoded), or null when the regex has none. */
  readonly params: Record<string, string> | null;
}

export class RegexPaths {
  private readonly list: readonly Candidate[];

  constructor(candidates: readonly Candidate[]) {
    this.list = [...candidates].sort(byOrder);
  }

  /** The list after a change, rebuilt whole (it is short); null when no regex route is left. */
  with(change: KeyChange): RegexPaths | null {
    const list = changedList(this.list, change, byOrder);
    return list === null ? null : new RegexPaths(list);
  }

  find(input: MatchInput): RegexHit | null {
    for (const c of this.list) {
      if (!fullyMatches(c, input)) continue;
      const hit = matchPath(c, input.path);
      if (hit !== null) return hit;
    }
    return null;
  }

  collectAllow(input: MatchInput, allow: Set<string>): void {
    for (const c of this.list) {
      if (matchPath(c, input.path) !== null) collectAllowed(c, input, allow);
    }
  }
}

function byOrder(a: Candidate, b: Candidate): number {
  return a.order - b.order;
}

function matchPath(c: Candidate, path: string): RegexHit | null {
  if (c.path.type !== 'regex') return null;
  if (!c.path.hasGroups) return c.path.re.test(path) ? { candidate: c, params: null } : null;
  const m = c.path.re.exec(path);
  if (m === null) return null;
  const groups = m.groups;
  if (groups === undefined) return { candidate: c, params: null };
  const params: Record<string, string> = {};
  for (const [name, raw] of Object.entries(groups)) {
    if (raw === undefined) continue;
    try {
      params[name] = decodeURIComponent(raw);
    } catch {
      return null; // as for templates: a malformed escape in a captured value is no match
    }
  }
  return { candidate: c, params };
}

// Two matches conflict when they claim the same request: the same host, the same path (type and value, as the
// router compares them: template parameter names ignored, a prefix's trailing "/" ignored), an overlapping method
// (no methods means every method; a later HEAD loses to an earlier GET, which the router lets answer HEAD) and
// identical header and query matchers. Matches differing in any matcher do not conflict: the router tells them apart.
//
// Hosts are compared as written: "a.example.com" and "*.example.com" do not conflict (the exact host is more
// specific), and a route without hosts ("any host") is a separate catch-all bucket that only conflicts with other
// routes without hosts.
//
// Candidates arrive in resolution order (oldest creationTimestamp, then namespace/name, then rule and match
// index): the first claim wins. A losing match is left out of the table as a whole (its other hosts and methods
// too, so what is served never depends on a partial overlap); the resource's other matches are unaffected.
import type { TableRoute } from '../../proxy/table/table-schema.ts';
import type { RouteCandidate } from './route-compiler.ts';
import { templateShape } from './path-template.ts';

export interface OwnedCandidate extends RouteCandidate {
  owner: { namespace: string; name: string };
}

export interface ConflictOutcome {
  kept: TableRoute[];
  /** "<namespace>/<name>" of each ApiRoute that lost a match → one message per lost match. */
  lost: Map<string, string[]>;
}

interface Claim {
  method: string;
  winner: OwnedCandidate;
}

export const ANY_METHOD = '*';

/** The methods a route claims: its own, or every method. */
export function claimMethods(route: TableRoute): readonly string[] {
  return route.methods.length > 0 ? route.methods : [ANY_METHOD];
}

/** Whether a match on `method` overlaps an earlier claim on `claimMethod` (a HEAD loses to an earlier GET). */
export function methodsOverlap(method: string, claimMethod: string): boolean {
  return method === claimMethod || method === ANY_METHOD || claimMethod === ANY_METHOD || (method === 'HEAD' && claimMethod === 'GET');
}

/** `keysOf` may supply a route's claim keys from a cache (they depend on the route alone). */
export function resolveConflicts(ordered: readonly OwnedCandidate[], keysOf: (route: TableRoute) => readonly ClaimKey[] = claimKeys): ConflictOutcome {
  const claims = new Map<string, Claim[]>();
  const kept: TableRoute[] = [];
  const lost = new Map<string, string[]>();
  for (const candidate of ordered) {
    const { route } = candidate;
    const keys = keysOf(route);
    const methods = claimMethods(route);
    const clash = findClash(claims, keys, methods);
    if (clash) {
      const owner = `${candidate.owner.namespace}/${candidate.owner.name}`;
      const list = lost.get(owner) ?? [];
      list.push(describe(candidate, clash));
      lost.set(owner, list);
      continue;
    }
    for (const { key } of keys) {
      const list = claims.get(key) ?? [];
      for (const method of methods) list.push({ method, winner: candidate });
      claims.set(key, list);
    }
    kept.push(route);
  }
  return { kept, lost };
}

export interface ClaimKey {
  key: string;
  host: string;
}

export function claimKeys(route: TableRoute): ClaimKey[] {
  const { type, value } = route.path;
  const path = type === 'template' ? templateShape(value) : type === 'prefix' ? value.replace(/\/+$/, '') : value;
  // Matchers are built with a fixed key order and sorted by the route compiler, so plain JSON is canonical here.
  const rest = JSON.stringify([type, path, route.headers, route.query]);
  const hosts = route.hosts.length > 0 ? route.hosts : [''];
  return hosts.map((host) => ({ host, key: `${host}\n${rest}` }));
}

export interface Clash {
  host: string;
  method: string;
  winner: OwnedCandidate;
}

function findClash(claims: Map<string, Claim[]>, keys: readonly ClaimKey[], methods: readonly string[]): Clash | undefined {
  for (const { key, host } of keys) {
    for (const claim of claims.get(key) ?? []) {
      for (const method of methods) {
        if (methodsOverlap(method, claim.method)) {
          return { host, method: method === ANY_METHOD ? claim.method : method, winner: claim.winner };
        }
      }
    }
  }
  return undefined;
}

export function describe(loser: OwnedCandidate, clash: Clash): string {
  const { route } = loser;
  const host = clash.host === '' ? 'any host' : `host ${clash.host}`;
  const method = clash.method === ANY_METHOD ? 'any method' : `method ${clash.method}`;
  const winner = clash.winner;
  const same = winner.owner.namespace === loser.owner.namespace && winner.owner.name === loser.owner.name;
  const by = same ? `${winner.field} of this ApiRoute` : `ApiRoute ${winner.owner.namespace}/${winner.owner.name} (${winner.field})`;
  return `${loser.field} (${host}, ${method}, ${route.path.type} path ${route.path.value}) is already claimed by ${by}; this match is not served`;
}

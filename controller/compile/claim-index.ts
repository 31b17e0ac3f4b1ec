// Conflict resolution kept across compiles: the same first-claim-wins rules as conflict-resolver.ts, but each claim
// key keeps its candidates in resolution order, so a change re-decides only the candidates on the keys it touched
// (and, when one of those flips between winning and losing, the candidates on that one's keys), not all 30k.
import type { TableRoute } from '../../proxy/table/table-schema.ts';
import { claimKeys, claimMethods, describe, methodsOverlap, type ClaimKey, type OwnedCandidate } from './conflict-resolver.ts';
import { compareResolutionKeys, type ResolutionKey } from './resolution-order.ts';

export class ClaimCandidate implements OwnedCandidate {
  readonly route: TableRoute;
  readonly field: string;
  readonly owner: { namespace: string; name: string };
  /** The owning ApiRoute's place in resolution order, then the candidate's index in it. */
  readonly rank: ResolutionKey;
  readonly index: number;
  readonly keys: readonly ClaimKey[];
  readonly methods: readonly string[];
  won = false;
  /** Why it lost (the conflict message), when it did. */
  loss: string | undefined;
  decided = false;
  removed = false;

  constructor(c: { route: TableRoute; field: string }, owner: { namespace: string; name: string }, rank: ResolutionKey, index: number) {
    this.route = c.route;
    this.field = c.field;
    this.owner = owner;
    this.rank = rank;
    this.index = index;
    this.keys = claimKeys(c.route);
    this.methods = claimMethods(c.route);
  }
}

function compareCandidates(a: ClaimCandidate, b: ClaimCandidate): number {
  return compareResolutionKeys(a.rank, b.rank) || a.index - b.index;
}

export class ClaimIndex {
  readonly #byKey = new Map<string, ClaimCandidate[]>();
  #dirty = new Set<ClaimCandidate>();

  add(candidate: ClaimCandidate): void {
    for (const { key } of candidate.keys) {
      let list = this.#byKey.get(key);
      if (list === undefined) this.#byKey.set(key, (list = []));
      const at = lowerBound(list, candidate);
      list.splice(at, 0, candidate);
      // Only later candidates can see the new claim.
      for (let i = at + 1; i < list.length; i++) this.#dirty.add(list[i] as ClaimCandidate);
    }
    this.#dirty.add(candidate);
  }

  remove(candidate: ClaimCandidate): void {
    candidate.removed = true;
    for (const { key } of candidate.keys) {
      const list = this.#byKey.get(key);
      if (list === undefined) continue;
      const at = list.indexOf(candidate);
      if (at < 0) continue;
      list.splice(at, 1);
      if (list.length === 0) this.#byKey.delete(key);
      else for (let i = at; i < list.length; i++) this.#dirty.add(list[i] as ClaimCandidate);
    }
  }

  /** Decides every candidate a change may affect; returns those whose outcome (won, loss message) changed. */
  resolve(): Set<ClaimCandidate> {
    const changed = new Set<ClaimCandidate>();
    while (this.#dirty.size > 0) {
      const batch = [...this.#dirty].sort(compareCandidates);
      this.#dirty = new Set();
      for (const c of batch) {
        if (c.removed) continue;
        const loss = this.#lossOf(c);
        const won = loss === undefined;
        if (c.decided && won === c.won && loss === c.loss) continue;
        // A flip changes what later candidates on the same keys see: decide them again (in the next round).
        if (!c.decided || won !== c.won) for (const { key } of c.keys) for (const other of this.#byKey.get(key) ?? []) if (compareCandidates(other, c) > 0) this.#dirty.add(other);
        c.won = won;
        c.loss = loss;
        c.decided = true;
        changed.add(c);
      }
    }
    return changed;
  }

  /** The first earlier winner it clashes with, in the order resolveConflicts looks: key, then claim, then method. */
  #lossOf(c: ClaimCandidate): string | undefined {
    for (const { key, host } of c.keys) {
      for (const claim of this.#byKey.get(key) ?? []) {
        if (claim === c) break;
        if (!claim.won) continue;
        for (const claimMethod of claim.methods) {
          for (const method of c.methods) {
            if (methodsOverlap(method, claimMethod)) return describe(c, { host, method: method === '*' ? claimMethod : method, winner: claim });
          }
        }
      }
    }
    return undefined;
  }
}

function lowerBound(list: readonly ClaimCandidate[], c: ClaimCandidate): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareCandidates(list[mid] as ClaimCandidate, c) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

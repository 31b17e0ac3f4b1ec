// Prefix routes keyed by their prefix (without trailing "/"). A path is looked up at each of its
// segment boundaries, longest first, so "/api" matches "/api", "/api/" and "/api/x" but not "/apix";
// only boundary lengths that some prefix has are sliced and looked up.
import { bySpecificityThenOrder, collectAllowed, firstMatch, type Candidate } from './candidate.ts';
import type { MatchInput } from './route-index-types.ts';

export class PrefixTable {
  private readonly byKey = new Map<string, Candidate[]>();
  /** hasLength[n]: some prefix key is n characters long. */
  private readonly hasLength: Uint8Array;

  constructor(candidates: readonly Candidate[]) {
    for (const c of candidates) {
      if (c.path.type !== 'prefix') throw new Error(`route ${c.route.id} is not a prefix route`);
      const key = c.path.key;
      let list = this.byKey.get(key);
      if (list === undefined) this.byKey.set(key, (list = []));
      list.push(c);
    }
    this.hasLength = new Uint8Array([...this.byKey.keys()].reduce((max, k) => Math.max(max, k.length), 0) + 1);
    for (const key of this.byKey.keys()) this.hasLength[key.length] = 1;
    for (const list of this.byKey.values()) list.sort(bySpecificityThenOrder);
  }

  find(input: MatchInput): Candidate | null {
    const path = input.path;
    for (let end = path.length; end >= 0; end = end === 0 ? -1 : path.lastIndexOf('/', end - 1)) {
      const list = this.listAt(path, end);
      if (list === undefined) continue;
      const hit = firstMatch(list, input);
      if (hit !== null) return hit;
    }
    return null;
  }

  collectAllow(input: MatchInput, allow: Set<string>): void {
    const path = input.path;
    for (let end = path.length; end >= 0; end = end === 0 ? -1 : path.lastIndexOf('/', end - 1)) {
      const list = this.listAt(path, end);
      if (list !== undefined) for (const c of list) collectAllowed(c, input, allow);
    }
  }

  /** The routes whose prefix is path[0, end); `end` is the path's length or the index of a "/". */
  private listAt(path: string, end: number): Candidate[] | undefined {
    if (this.hasLength[end] !== 1) return undefined;
    return this.byKey.get(end === path.length ? path : path.slice(0, end));
  }
}

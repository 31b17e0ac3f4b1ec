// Prefix routes keyed by their prefix (without trailing "/"). A path is looked up at each of its
// segment boundaries, longest first, so "/api" matches "/api", "/api/" and "/api/x" but not "/apix";
// only boundary lengths that some prefix has are sliced and looked up.
import { bySpecificityThenOrder, collectAllowed, firstMatch, type Candidate } from './candidate.ts';
import { BoundaryMap } from './boundary-map.ts';
import type { Slicer } from './host-buckets.ts';
import { changedList, type KeyChange } from './keyed-lists.ts';
import type { MatchInput } from './route-index-types.ts';

export class PrefixTable {
  private readonly byKey: BoundaryMap<readonly Candidate[]>;

  private constructor(byKey: BoundaryMap<readonly Candidate[]>) {
    this.byKey = byKey;
  }

  /** `byKey`'s lists are sorted here; the map becomes the table's and must not be changed afterwards. */
  static of(byKey: Map<string, Candidate[]>): PrefixTable {
    for (const list of byKey.values()) list.sort(bySpecificityThenOrder);
    return new PrefixTable(BoundaryMap.of<readonly Candidate[]>(byKey));
  }

  /** The next version with only the changed keys' lists rebuilt (null: no prefix route left); this one is not changed. */
  async with(changes: ReadonlyMap<string, KeyChange>, slicer: Slicer): Promise<PrefixTable | null> {
    const next: Array<[string, readonly Candidate[] | undefined]> = [];
    for (const [key, change] of changes) next.push([key, changedList(this.byKey.get(key) ?? [], change, bySpecificityThenOrder) ?? undefined]);
    const byKey = await this.byKey.with(next).compactedIfDue(slicer);
    return byKey.size > 0 ? new PrefixTable(byKey) : null;
  }

  find(input: MatchInput): Candidate | null {
    const path = input.path;
    for (let end = path.length; end >= 0; end = end === 0 ? -1 : path.lastIndexOf('/', end - 1)) {
      const list = this.byKey.at(path, end);
      if (list === undefined) continue;
      const hit = firstMatch(list, input);
      if (hit !== null) return hit;
    }
    return null;
  }

  collectAllow(input: MatchInput, allow: Set<string>): void {
    const path = input.path;
    for (let end = path.length; end >= 0; end = end === 0 ? -1 : path.lastIndexOf('/', end - 1)) {
      const list = this.byKey.at(path, end);
      if (list !== undefined) for (const c of list) collectAllowed(c, input, allow);
    }
  }
}

// All routes of one host bucket, split into the four path tiers, tried in precedence order:
// exact > template > prefix (longest first) > regex (table order). The first tier with a route that
// fully matches wins; a tier is skipped entirely when the bucket has no route of that kind.
import { bySpecificityThenOrder, collectAllowed, firstMatch, type Candidate } from './candidate.ts';
import { PrefixTable } from './prefix-table.ts';
import { RegexPaths } from './regex-paths.ts';
import type { MatchInput, MatchResult } from './route-index-types.ts';
import { TemplateTrie } from './template-trie.ts';

export class PathBucket {
  private readonly exact = new Map<string, Candidate[]>();
  private readonly templates: TemplateTrie | null;
  private readonly prefixes: PrefixTable | null;
  private readonly regexes: RegexPaths | null;
  /** The candidates it was built from, in table order: a table delta rebuilds a bucket from them. */
  readonly members: readonly Candidate[];

  constructor(candidates: readonly Candidate[]) {
    this.members = candidates;
    const templates: Candidate[] = [];
    const prefixes: Candidate[] = [];
    const regexes: Candidate[] = [];
    for (const c of candidates) {
      if (c.path.type === 'exact') {
        let list = this.exact.get(c.path.value);
        if (list === undefined) this.exact.set(c.path.value, (list = []));
        list.push(c);
      } else if (c.path.type === 'template') templates.push(c);
      else if (c.path.type === 'prefix') prefixes.push(c);
      else regexes.push(c);
    }
    for (const list of this.exact.values()) list.sort(bySpecificityThenOrder);
    this.templates = templates.length > 0 ? new TemplateTrie(templates) : null;
    this.prefixes = prefixes.length > 0 ? new PrefixTable(prefixes) : null;
    this.regexes = regexes.length > 0 ? new RegexPaths(regexes) : null;
  }

  find(input: MatchInput): MatchResult | null {
    const exact = this.exact.get(input.path);
    if (exact !== undefined) {
      const hit = firstMatch(exact, input);
      if (hit !== null) return hit.result;
    }
    if (this.templates !== null) {
      const hit = this.templates.find(input);
      if (hit !== null) return { kind: 'route', route: hit.candidate.route, params: hit.params };
    }
    if (this.prefixes !== null) {
      const hit = this.prefixes.find(input);
      if (hit !== null) return hit.result;
    }
    if (this.regexes !== null) {
      const hit = this.regexes.find(input);
      if (hit !== null) return hit.params === null ? hit.candidate.result : { kind: 'route', route: hit.candidate.route, params: hit.params };
    }
    return null;
  }

  /** Only called after find() failed in every bucket: the slow path for a 405. */
  collectAllow(input: MatchInput, allow: Set<string>): void {
    const exact = this.exact.get(input.path);
    if (exact !== undefined) for (const c of exact) collectAllowed(c, input, allow);
    this.templates?.collectAllow(input, allow);
    this.prefixes?.collectAllow(input, allow);
    this.regexes?.collectAllow(input, allow);
  }
}

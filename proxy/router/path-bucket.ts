// All routes of one host bucket, split into the four path tiers, tried in precedence order:
// exact > template > prefix (longest first) > regex (table order). The first tier with a route that
// fully matches wins; a tier is skipped entirely when the bucket has no route of that kind.
// A bucket is never changed once built (requests in flight may be reading it): a table delta makes the next version
// with `with`, which rebuilds only the keys the change touches (an exact path's list, a prefix's list, a template
// group's trie, the short regex list) and shares the rest through versioned maps, so one route changing in a bucket of
// 50k costs about as much as in a bucket of ten.
import type { TableRoute } from '../table/table-schema.ts';
import { runSteps, runStepsSliced, type BuildSteps } from './build-steps.ts';
import { bySpecificityThenOrder, collectAllowed, firstMatch, type Candidate } from './candidate.ts';
import { prefixKey } from './compiled-path.ts';
import type { Slicer } from './host-buckets.ts';
import { changedList, keyChange, pushKeyed as push, type KeyChange } from './keyed-lists.ts';
import { PrefixTable } from './prefix-table.ts';
import { RegexPaths } from './regex-paths.ts';
import type { MatchInput, MatchResult } from './route-index-types.ts';
import { groupTrie, templateGroupKey, TemplateGroups } from './template-groups.ts';
import { parseTemplate } from './template-parse.ts';
import type { TemplateTrie } from './template-trie.ts';
import { VersionedMap } from './versioned-map.ts';

/** What a table delta does to one bucket: the old versions of the routes leaving it, the candidates joining it. */
export interface BucketChange {
  readonly removed: TableRoute[];
  readonly added: Candidate[];
}

export interface Tiers {
  exact: VersionedMap<string, readonly Candidate[]>;
  templates: TemplateGroups | null;
  prefixes: PrefixTable | null;
  regexes: RegexPaths | null;
}

/** Candidates grouped per tier between pauses. */
const STEP = 64;

export class PathBucket {
  private readonly exact: VersionedMap<string, readonly Candidate[]>;
  private readonly templates: TemplateGroups | null;
  private readonly prefixes: PrefixTable | null;
  private readonly regexes: RegexPaths | null;

  /** From built tiers: see `of`, `build` and `with`. */
  constructor(tiers: Tiers) {
    this.exact = tiers.exact;
    this.templates = tiers.templates;
    this.prefixes = tiers.prefixes;
    this.regexes = tiers.regexes;
  }

  /** Built at once. */
  static of(candidates: readonly Candidate[]): PathBucket {
    return runSteps(buildSteps(candidates));
  }

  /** The same bucket built in time slices: a bucket of 50k routes does not hold the event loop in one piece. */
  static build(candidates: readonly Candidate[], slicer: Slicer): Promise<PathBucket> {
    return runStepsSliced(buildSteps(candidates), slicer);
  }

  /** The next version after `change` (null: no route left); only the touched keys of each tier are rebuilt. */
  async with(change: BucketChange, slicer: Slicer): Promise<PathBucket | null> {
    const exact = new Map<string, KeyChange>();
    const prefixes = new Map<string, KeyChange>();
    const templates = new Map<string, KeyChange>();
    const regexes = new Map<string, KeyChange>();
    const tiers = { exact, prefix: prefixes, template: templates, regex: regexes };
    for (const route of change.removed) {
      const [tier, key] = tierKeyOfRoute(route);
      keyChange(tiers[tier], key).removed.add(route.id);
    }
    for (const c of change.added) {
      const [tier, key] = tierKeyOf(c);
      keyChange(tiers[tier], key).added.push(c);
    }
    let exactMap = this.exact;
    if (exact.size > 0) {
      const next: Array<[string, readonly Candidate[] | undefined]> = [];
      for (const [key, kc] of exact) next.push([key, changedList(this.exact.get(key) ?? [], kc, bySpecificityThenOrder) ?? undefined]);
      exactMap = this.exact.with(next);
      if (exactMap.wantsCompaction) exactMap = await exactMap.compacted(slicer);
    }
    const next: Tiers = {
      exact: exactMap,
      templates: templates.size === 0 ? this.templates : this.templates === null ? groupsOf(templates) : await this.templates.with(templates, slicer),
      prefixes: prefixes.size === 0 ? this.prefixes : this.prefixes === null ? prefixTableOf(prefixes) : await this.prefixes.with(prefixes, slicer),
      regexes: regexes.size === 0 ? this.regexes : (this.regexes ?? EMPTY_REGEXES).with(regexes.get('') as KeyChange),
    };
    const empty = next.exact.size === 0 && next.templates === null && next.prefixes === null && next.regexes === null;
    return empty ? null : new PathBucket(next);
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

const EMPTY_REGEXES = new RegexPaths([]);
/** The exact tier of every bucket without exact routes (never changed: `with` makes new versions). */
const NO_EXACT = VersionedMap.empty<string, readonly Candidate[]>();

type Tier = 'exact' | 'prefix' | 'template' | 'regex';

/** Where a candidate sits in a bucket: its tier and its key there (regex routes are one list). */
function tierKeyOf(c: Candidate): [Tier, string] {
  switch (c.path.type) {
    case 'exact':
      return ['exact', c.path.value];
    case 'prefix':
      return ['prefix', c.path.key];
    case 'template':
      return ['template', templateGroupKey(c.path.template)];
    case 'regex':
      return ['regex', ''];
  }
}

/** The same for a route the bucket holds, from its table entry (a template is parsed again; nothing is compiled). */
function tierKeyOfRoute(route: TableRoute): [Tier, string] {
  switch (route.path.type) {
    case 'exact':
      return ['exact', route.path.value];
    case 'prefix':
      return ['prefix', prefixKey(route.path.value)];
    case 'template':
      return ['template', templateGroupKey(parseTemplate(route.path.value, route.id))];
    case 'regex':
      return ['regex', ''];
  }
}

function* buildSteps(candidates: readonly Candidate[]): BuildSteps<PathBucket> {
  const exact = new Map<string, Candidate[]>();
  const groups = new Map<string, Candidate[]>();
  const prefixes = new Map<string, Candidate[]>();
  const regexes: Candidate[] = [];
  let n = 0;
  for (const c of candidates) {
    if (c.path.type === 'exact') push(exact, c.path.value, c);
    else if (c.path.type === 'template') push(groups, templateGroupKey(c.path.template), c);
    else if (c.path.type === 'prefix') push(prefixes, c.path.key, c);
    else regexes.push(c);
    if (++n % STEP === 0) yield;
  }
  for (const list of exact.values()) {
    list.sort(bySpecificityThenOrder);
    if (++n % STEP === 0) yield;
  }
  const tries = new Map<string, TemplateTrie>();
  for (const [key, list] of groups) {
    tries.set(key, groupTrie(list));
    yield;
  }
  const prefixTable = prefixes.size > 0 ? PrefixTable.of(prefixes) : null;
  yield;
  return new PathBucket({
    exact: exact.size > 0 ? VersionedMap.of<string, readonly Candidate[]>(exact) : NO_EXACT,
    templates: tries.size > 0 ? TemplateGroups.of(tries) : null,
    prefixes: prefixTable,
    regexes: regexes.length > 0 ? new RegexPaths(regexes) : null,
  });
}

/** A tier that was empty, from a change's added candidates only. */
function groupsOf(changes: ReadonlyMap<string, KeyChange>): TemplateGroups | null {
  const tries = new Map<string, TemplateTrie>();
  for (const [key, kc] of changes) if (kc.added.length > 0) tries.set(key, groupTrie(kc.added));
  return tries.size > 0 ? TemplateGroups.of(tries) : null;
}

function prefixTableOf(changes: ReadonlyMap<string, KeyChange>): PrefixTable | null {
  const lists = new Map<string, Candidate[]>();
  for (const [key, kc] of changes) if (kc.added.length > 0) lists.set(key, [...kc.added]);
  return lists.size > 0 ? PrefixTable.of(lists) : null;
}

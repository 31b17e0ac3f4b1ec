// The template tier of a bucket, as groups of templates that share all their leading static segments: "/api/users/{id}"
// and "/api/users/{id}/posts" are in group "/api/users", "/{tenant}/x" in group "" (no static lead). A group can only
// match a path that starts with its key followed by "/" (or that is its key, for an all-static template), so a lookup
// asks the groups at the path's segment boundaries, as the prefix tier does, takes each one's best fully matching
// template, and keeps the best of those by compareTemplates. That is the template a single trie of all of them would
// find: compareTemplates is a total order (its last tie-break is the order key, unique within a bucket), each trie ranks
// its templates by it, and a template's match does not depend on which other templates share its trie.
// Why groups: a change to one template rebuilds its group's trie only (dense ranks make a trie's insert non-local),
// and the groups are a versioned map, so a bucket of 50k templates takes a one-route change in O(group).
import { BoundaryMap } from './boundary-map.ts';
import type { Candidate } from './candidate.ts';
import type { Slicer } from './host-buckets.ts';
import { changedList, type KeyChange } from './keyed-lists.ts';
import type { MatchInput } from './route-index-types.ts';
import type { ParsedTemplate } from './template-parse.ts';
import { compareTemplates } from './template-rank.ts';
import { TemplateTrie, type TemplateHit } from './template-trie.ts';

/** A template's group key: "/" + its leading static segments joined by "/", or "" when it starts with a param. */
export function templateGroupKey(template: ParsedTemplate): string {
  const n = leadCount(template);
  if (n === 0) return '';
  let key = '';
  for (let i = 0; i < n; i++) key += `/${(template.segments[i] as { text: string }).text}`;
  return key;
}

function leadCount(template: ParsedTemplate): number {
  let n = 0;
  while (n < template.segments.length && template.segments[n]!.kind === 'static') n++;
  return n;
}

/** The trie of one group (its templates share the key, so the first one's lead is every one's). */
export function groupTrie(candidates: readonly Candidate[]): TemplateTrie {
  const first = candidates[0] as Candidate;
  if (first.path.type !== 'template') throw new Error(`route ${first.route.id} is not a template`);
  return new TemplateTrie(candidates, leadCount(first.path.template));
}

export class TemplateGroups {
  private readonly groups: BoundaryMap<TemplateTrie>;

  private constructor(groups: BoundaryMap<TemplateTrie>) {
    this.groups = groups;
  }

  /** From each group's trie, by key (the map must not be changed afterwards). */
  static of(groups: Map<string, TemplateTrie>): TemplateGroups {
    return new TemplateGroups(BoundaryMap.of(groups));
  }

  /** The next version with only the changed groups' tries rebuilt (null: no template left); this one is not changed. */
  async with(changes: ReadonlyMap<string, KeyChange>, slicer: Slicer): Promise<TemplateGroups | null> {
    const next: Array<[string, TemplateTrie | undefined]> = [];
    for (const [key, change] of changes) {
      const list = changedList(this.groups.get(key)?.candidates ?? [], change, null);
      next.push([key, list === null ? undefined : groupTrie(list)]);
      if (slicer.due()) await slicer.pause();
    }
    const groups = await this.groups.with(next).compactedIfDue(slicer);
    return groups.size > 0 ? new TemplateGroups(groups) : null;
  }

  /** The best template route that fully matches, or null. */
  find(input: MatchInput): TemplateHit | null {
    const path = input.path;
    if (path.charCodeAt(0) !== 0x2f /* / */) return null;
    // Boundaries from the start (the order does not matter: every group's winner is compared), stopping past the
    // longest key, so a long path costs no more than its first few segments.
    const longest = this.groups.longest;
    let best: TemplateHit | null = null;
    for (let end = 0; end !== -1 && end <= longest; end = path.indexOf('/', end + 1)) {
      const trie = this.groups.at(path, end);
      if (trie === undefined) continue;
      const hit = trie.find(input, end + 1);
      if (hit !== null && (best === null || compareTemplates(hit.candidate, best.candidate) < 0)) best = hit;
    }
    if (path.length <= longest) {
      // The whole path as a key: only all-static templates can match there.
      const hit = this.groups.at(path, path.length)?.find(input, path.length + 1) ?? null;
      if (hit !== null && (best === null || compareTemplates(hit.candidate, best.candidate) < 0)) best = hit;
    }
    return best;
  }

  /** Adds the methods of path-matching templates whose method did not match (for a 405). */
  collectAllow(input: MatchInput, allow: Set<string>): void {
    const path = input.path;
    if (path.charCodeAt(0) !== 0x2f) return;
    const longest = this.groups.longest;
    for (let end = 0; end !== -1 && end <= longest; end = path.indexOf('/', end + 1)) {
      this.groups.at(path, end)?.collectAllow(input, allow, end + 1);
    }
    if (path.length <= longest) this.groups.at(path, path.length)?.collectAllow(input, allow, path.length + 1);
  }
}

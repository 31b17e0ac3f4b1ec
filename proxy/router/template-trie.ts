// Matches request paths against many templates by walking a segment trie. Several templates can
// match one path and the best one may fail on method or headers, so the walk visits every matching
// branch, but prunes any subtree whose best rank cannot beat the winner found so far. A trie holds
// one group of templates that share their leading static segments (template-groups.ts): it is built
// from the segments after them, and a walk starts where they end in the path.
// Match state lives on the trie (match() is synchronous and Node is single-threaded), so a request
// allocates only the segment strings it looks up and, on a hit, its params.
import { collectAllowed, fullyMatches, type Candidate } from './candidate.ts';
import type { MatchInput } from './route-index-types.ts';
import { compareTemplates } from './template-rank.ts';

interface Entry {
  readonly candidate: Candidate;
  /** Position in this trie's precedence order (0 = best). */
  readonly rank: number;
  /** Param names in capture order. */
  readonly names: readonly string[];
}

interface MixedEdge {
  readonly prefix: string;
  readonly suffix: string;
  readonly node: TrieNode;
}

class TrieNode {
  statics: Map<string, TrieNode> | null = null;
  /** Longest literal first, matching the rank order. */
  mixed: MixedEdge[] | null = null;
  param: TrieNode | null = null;
  /** Templates ending in `{name+}` at this position. */
  greedy: Entry[] | null = null;
  /** Templates ending at this node. */
  leaf: Entry[] | null = null;
  /** Best rank in this subtree, for pruning. */
  minRank = Number.POSITIVE_INFINITY;
}

export interface TemplateHit {
  readonly candidate: Candidate;
  readonly params: Record<string, string>;
}

/**
 * Capture positions, shared by every trie: a match is synchronous and runs one at a time, and a trie per host bucket
 * (thousands of them) with two typed arrays each cost more memory than their routes' templates. Grown to the most
 * params any trie has.
 */
let capStart = new Int32Array(8);
let capEnd = new Int32Array(8);

/** A node's first entry is a one-slot array: an array grown by push from empty reserves 17 slots (~140 bytes). */
function withEntry(list: Entry[] | null, entry: Entry): Entry[] {
  if (list === null) return [entry];
  list.push(entry);
  return list;
}

export class TemplateTrie {
  /** What it was built from, in precedence order: a change to the group rebuilds it from them. */
  readonly candidates: readonly Candidate[];
  private readonly root = new TrieNode();
  // Per-call state.
  private input: MatchInput | null = null;
  private bestRank = Number.POSITIVE_INFINITY;
  private best: TemplateHit | null = null;
  private allow: Set<string> | null = null;

  /** `lead`: how many leading segments (static, the same in every template here) the trie leaves out. */
  constructor(candidates: readonly Candidate[], lead: number) {
    const sorted = [...candidates].sort(compareTemplates);
    this.candidates = sorted;
    let maxParams = 0;
    sorted.forEach((candidate, rank) => {
      if (candidate.path.type !== 'template') throw new Error(`route ${candidate.route.id} is not a template`);
      const { segments, names } = candidate.path.template;
      maxParams = Math.max(maxParams, names.length);
      const entry: Entry = { candidate, rank, names };
      let node = this.root;
      node.minRank = Math.min(node.minRank, rank);
      if (lead === segments.length) node.leaf = withEntry(node.leaf, entry);
      for (let i = lead; i < segments.length; i++) {
        const seg = segments[i]!;
        if (seg.kind === 'greedy') {
          node.greedy = withEntry(node.greedy, entry);
          break;
        }
        node = childFor(node, seg.kind === 'static' ? seg.text : null, seg.kind === 'mixed' ? seg : null);
        node.minRank = Math.min(node.minRank, rank);
        if (i === segments.length - 1) node.leaf = withEntry(node.leaf, entry);
      }
    });
    if (maxParams > capStart.length) {
      capStart = new Int32Array(maxParams);
      capEnd = new Int32Array(maxParams);
    }
  }

  /** The best template route that fully matches, or null; `start` is where the segments after the lead begin. */
  find(input: MatchInput, start: number): TemplateHit | null {
    this.input = input;
    this.bestRank = Number.POSITIVE_INFINITY;
    this.best = null;
    this.allow = null;
    this.walk(this.root, start, 0);
    const hit = this.best;
    this.input = null;
    this.best = null;
    return hit;
  }

  /** Adds the methods of path-matching templates whose method did not match (for a 405). */
  collectAllow(input: MatchInput, allow: Set<string>, start: number): void {
    this.input = input;
    this.bestRank = Number.POSITIVE_INFINITY;
    this.allow = allow;
    this.walk(this.root, start, 0);
    this.input = null;
    this.allow = null;
  }

  /** `start` is the first character of the current segment; past the end means every segment is consumed. */
  private walk(node: TrieNode, start: number, depth: number): void {
    if (node.minRank >= this.bestRank) return;
    const path = this.input!.path;
    if (start > path.length) {
      if (node.leaf !== null) this.visit(node.leaf, depth);
      return;
    }
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    if (node.statics !== null) {
      const child = node.statics.get(path.slice(start, end));
      if (child !== undefined) this.walk(child, end + 1, depth);
    }
    if (node.mixed !== null) {
      for (const edge of node.mixed) {
        const valueStart = start + edge.prefix.length;
        const valueEnd = end - edge.suffix.length;
        if (valueEnd > valueStart && path.startsWith(edge.prefix, start) && path.endsWith(edge.suffix, end)) {
          this.capture(depth, valueStart, valueEnd);
          this.walk(edge.node, end + 1, depth + 1);
        }
      }
    }
    if (node.param !== null && end > start) {
      this.capture(depth, start, end);
      this.walk(node.param, end + 1, depth + 1);
    }
    if (node.greedy !== null && path.length > start) {
      this.capture(depth, start, path.length);
      this.visit(node.greedy, depth + 1);
    }
  }

  private capture(depth: number, start: number, end: number): void {
    capStart[depth] = start;
    capEnd[depth] = end;
  }

  private visit(entries: readonly Entry[], depth: number): void {
    const input = this.input!;
    for (const entry of entries) {
      if (entry.rank >= this.bestRank) return;
      if (this.allow !== null) {
        // Every entry here captured the same values, so one decode check covers them all.
        if (this.params(entry.names, depth) === null) return;
        collectAllowed(entry.candidate, input, this.allow);
      } else if (fullyMatches(entry.candidate, input)) {
        const params = this.params(entry.names, depth);
        if (params === null) return; // a malformed escape: this template does not match
        this.bestRank = entry.rank;
        this.best = { candidate: entry.candidate, params };
        return;
      }
    }
  }

  private params(names: readonly string[], depth: number): Record<string, string> | null {
    const path = this.input!.path;
    const params: Record<string, string> = {};
    for (let i = 0; i < depth; i++) {
      const raw = path.slice(capStart[i], capEnd[i]);
      if (raw.includes('%')) {
        try {
          params[names[i]!] = decodeURIComponent(raw);
        } catch {
          return null;
        }
      } else {
        params[names[i]!] = raw;
      }
    }
    return params;
  }
}

function childFor(node: TrieNode, text: string | null, mixed: { prefix: string; suffix: string } | null): TrieNode {
  if (text !== null) {
    node.statics ??= new Map();
    let child = node.statics.get(text);
    if (child === undefined) node.statics.set(text, (child = new TrieNode()));
    return child;
  }
  if (mixed !== null) {
    node.mixed ??= [];
    let edge = node.mixed.find((e) => e.prefix === mixed.prefix && e.suffix === mixed.suffix);
    if (edge === undefined) {
      edge = { prefix: mixed.prefix, suffix: mixed.suffix, node: new TrieNode() };
      node.mixed.push(edge);
      node.mixed.sort((a, b) => b.prefix.length + b.suffix.length - (a.prefix.length + a.suffix.length));
    }
    return edge.node;
  }
  return (node.param ??= new TrieNode());
}

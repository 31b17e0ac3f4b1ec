// Routes grouped by host, tried most specific first: the exact host, then wildcard suffixes longest
// first ("*.b.example.com" before "*.example.com"), then routes for any host. A bucket with no
// matching route falls through to the next, so a host-specific API does not hide catch-all routes.
import type { Candidate } from './candidate.ts';
import { PathBucket } from './path-bucket.ts';
import type { MatchInput, MatchResult } from './route-index-types.ts';

export class HostBuckets {
  private readonly exact = new Map<string, PathBucket>();
  /** Keyed by the suffix with its leading dot: "*.example.com" → ".example.com". */
  private readonly wildcard = new Map<string, PathBucket>();
  /** wildcardLength[n]: some wildcard suffix is n characters long; skips slicing hopeless suffixes. */
  private readonly wildcardLength: Uint8Array;
  private readonly any: PathBucket | null;

  /** `prebuilt` comes from HostBuckets.build (the time-sliced path); without it everything is built here at once. */
  constructor(candidates: readonly Candidate[], prebuilt?: PrebuiltBuckets) {
    if (prebuilt !== undefined) {
      this.exact = prebuilt.exact;
      this.wildcard = prebuilt.wildcard;
      this.wildcardLength = wildcardLengths(prebuilt.wildcard);
      this.any = prebuilt.any;
      return;
    }
    const { exact, wildcard, any } = groupByHost(candidates);
    for (const [host, list] of exact) this.exact.set(host, new PathBucket(list));
    this.wildcardLength = new Uint8Array([...wildcard.keys()].reduce((max, s) => Math.max(max, s.length), 0) + 1);
    for (const [suffix, list] of wildcard) {
      this.wildcard.set(suffix, new PathBucket(list));
      this.wildcardLength[suffix.length] = 1;
    }
    this.any = any.length > 0 ? new PathBucket(any) : null;
  }

  /**
   * The same index built one host bucket at a time, pausing when `slicer` says the time slice is used up, so a
   * 10k-route table does not hold the event loop in one go. One huge bucket is still built at once.
   */
  static async build(candidates: readonly Candidate[], slicer: Slicer): Promise<HostBuckets> {
    const groups = groupByHost(candidates);
    const exact = new Map<string, PathBucket>();
    const wildcard = new Map<string, PathBucket>();
    for (const [host, list] of groups.exact) {
      exact.set(host, new PathBucket(list));
      if (slicer.due()) await slicer.pause();
    }
    for (const [suffix, list] of groups.wildcard) {
      wildcard.set(suffix, new PathBucket(list));
      if (slicer.due()) await slicer.pause();
    }
    const any = groups.any.length > 0 ? new PathBucket(groups.any) : null;
    return new HostBuckets(candidates, { exact, wildcard, any });
  }

  find(input: MatchInput): MatchResult | null {
    const host = input.host;
    const exact = this.exact.get(host);
    if (exact !== undefined) {
      const hit = exact.find(input);
      if (hit !== null) return hit;
    }
    if (this.wildcard.size > 0) {
      // Starting at index 1 keeps at least one character before the suffix: "*.example.com" never matches "example.com".
      for (let dot = host.indexOf('.', 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
        const bucket = this.wildcardAt(host, dot);
        if (bucket === undefined) continue;
        const hit = bucket.find(input);
        if (hit !== null) return hit;
      }
    }
    return this.any !== null ? this.any.find(input) : null;
  }

  collectAllow(input: MatchInput, allow: Set<string>): void {
    const host = input.host;
    this.exact.get(host)?.collectAllow(input, allow);
    if (this.wildcard.size > 0) {
      for (let dot = host.indexOf('.', 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
        this.wildcardAt(host, dot)?.collectAllow(input, allow);
      }
    }
    this.any?.collectAllow(input, allow);
  }

  private wildcardAt(host: string, dot: number): PathBucket | undefined {
    return this.wildcardLength[host.length - dot] === 1 ? this.wildcard.get(host.slice(dot)) : undefined;
  }
}

/** Tells a long build when to yield the event loop. */
export interface Slicer {
  due(): boolean;
  pause(): Promise<void>;
}

interface PrebuiltBuckets {
  exact: Map<string, PathBucket>;
  wildcard: Map<string, PathBucket>;
  any: PathBucket | null;
}

function groupByHost(candidates: readonly Candidate[]): { exact: Map<string, Candidate[]>; wildcard: Map<string, Candidate[]>; any: Candidate[] } {
  const exact = new Map<string, Candidate[]>();
  const wildcard = new Map<string, Candidate[]>();
  const any: Candidate[] = [];
  for (const c of candidates) {
    const hosts = new Set(c.route.hosts.map((h) => h.toLowerCase()));
    if (hosts.size === 0 || hosts.has('*')) any.push(c);
    for (const host of hosts) {
      if (host === '*') continue;
      if (host.startsWith('*.') && host.length > 2 && !host.includes('*', 1)) push(wildcard, host.slice(1), c);
      else if (!host.includes('*')) push(exact, host, c);
      else throw new Error(`route ${c.route.id}: host ${JSON.stringify(host)} is neither exact nor "*.suffix"`);
    }
  }
  return { exact, wildcard, any };
}

function wildcardLengths(wildcard: ReadonlyMap<string, unknown>): Uint8Array {
  const lengths = new Uint8Array([...wildcard.keys()].reduce((max, s) => Math.max(max, s.length), 0) + 1);
  for (const suffix of wildcard.keys()) lengths[suffix.length] = 1;
  return lengths;
}

function push(map: Map<string, Candidate[]>, key: string, c: Candidate): void {
  let list = map.get(key);
  if (list === undefined) map.set(key, (list = []));
  list.push(c);
}

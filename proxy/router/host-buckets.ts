// Routes grouped by host, tried most specific first: the exact host, then wildcard suffixes longest
// first ("*.b.example.com" before "*.example.com"), then routes for any host. A bucket with no
// matching route falls through to the next, so a host-specific API does not hide catch-all routes.
import type { TableRoute } from '../table/table-schema.ts';
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

  /**
   * This index with only the buckets named in `rebuilt` replaced (an empty list drops the bucket); every other bucket
   * is reused as it is. Sound when the routes of the other buckets and their relative order did not change.
   */
  static async rebuild(previous: HostBuckets, rebuilt: ReadonlyMap<HostKey, readonly Candidate[]>, slicer: Slicer): Promise<HostBuckets> {
    const exact = new Map(previous.exact);
    const wildcard = new Map(previous.wildcard);
    let any = previous.any;
    for (const [key, list] of rebuilt) {
      const bucket = list.length > 0 ? new PathBucket(list) : null;
      if (key === ANY_HOST) any = bucket;
      else {
        const map = key.startsWith('w:') ? wildcard : exact;
        if (bucket === null) map.delete(key.slice(2));
        else map.set(key.slice(2), bucket);
      }
      if (slicer.due()) await slicer.pause();
    }
    return new HostBuckets([], { exact, wildcard, any });
  }

  /** The bucket a key names, if there is one. */
  bucket(key: HostKey): PathBucket | null {
    if (key === ANY_HOST) return this.any;
    return (key.startsWith('w:') ? this.wildcard : this.exact).get(key.slice(2)) ?? null;
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
    for (const key of hostKeys(c.route)) {
      if (key === ANY_HOST) any.push(c);
      else if (key.startsWith('w:')) push(wildcard, key.slice(2), c);
      else push(exact, key.slice(2), c);
    }
  }
  return { exact, wildcard, any };
}

/** Which bucket a key names: "*" (any host), "e:<host>" or "w:<.suffix>". */
export type HostKey = string;
export const ANY_HOST: HostKey = '*';

/** The buckets a route belongs to; throws on a host that is neither exact nor "*.suffix". */
export function hostKeys(route: TableRoute): HostKey[] {
  const hosts = new Set(route.hosts.map((h) => h.toLowerCase()));
  const keys: HostKey[] = [];
  if (hosts.size === 0 || hosts.has('*')) keys.push(ANY_HOST);
  for (const host of hosts) {
    if (host === '*') continue;
    if (host.startsWith('*.') && host.length > 2 && !host.includes('*', 1)) keys.push(`w:${host.slice(1)}`);
    else if (!host.includes('*')) keys.push(`e:${host}`);
    else throw new Error(`route ${route.id}: host ${JSON.stringify(host)} is neither exact nor "*.suffix"`);
  }
  return keys;
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

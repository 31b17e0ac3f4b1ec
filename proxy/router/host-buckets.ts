// Routes grouped by host, tried most specific first: the exact host, then wildcard suffixes longest
// first ("*.b.example.com" before "*.example.com"), then routes for any host. A bucket with no
// matching route falls through to the next, so a host-specific API does not hide catch-all routes.
import type { TableRoute } from '../table/table-schema.ts';
import type { Candidate } from './candidate.ts';
import { pushKeyed as push } from './keyed-lists.ts';
import { PathBucket, type BucketChange } from './path-bucket.ts';
import type { MatchInput, MatchResult } from './route-index-types.ts';
import { VersionedMap } from './versioned-map.ts';

export class HostBuckets {
  /** Versioned: a table delta makes the next index's maps without copying the buckets it did not touch. */
  private readonly exact: VersionedMap<string, PathBucket>;
  /** Keyed by the suffix with its leading dot: "*.example.com" → ".example.com". */
  private readonly wildcard: VersionedMap<string, PathBucket>;
  /** wildcardLength[n]: some wildcard suffix is n characters long; skips slicing hopeless suffixes. */
  private readonly wildcardLength: Uint8Array;
  private readonly any: PathBucket | null;

  /** `prebuilt` comes from HostBuckets.build (the time-sliced path); without it everything is built here at once. */
  constructor(candidates: readonly Candidate[], prebuilt?: PrebuiltBuckets, wildcardLength?: Uint8Array) {
    if (prebuilt !== undefined) {
      this.exact = prebuilt.exact;
      this.wildcard = prebuilt.wildcard;
      // Only the wildcard suffixes are walked (a handful, unlike exact hosts), and only when they changed.
      this.wildcardLength = wildcardLength ?? wildcardLengths(prebuilt.wildcard);
      this.any = prebuilt.any;
      return;
    }
    const { exact, wildcard, any } = groupByHost(candidates);
    this.exact = VersionedMap.of(new Map([...exact].map(([host, list]) => [host, PathBucket.of(list)])));
    this.wildcard = VersionedMap.of(new Map([...wildcard].map(([suffix, list]) => [suffix, PathBucket.of(list)])));
    this.wildcardLength = wildcardLengths(this.wildcard);
    this.any = any.length > 0 ? PathBucket.of(any) : null;
  }

  /**
   * The same index built in time slices, pausing when `slicer` says the slice is used up, so a 50k-route table does
   * not hold the event loop in one go; a big bucket (the any-host one) pauses inside its own build too.
   */
  static async build(candidates: readonly Candidate[], slicer: Slicer): Promise<HostBuckets> {
    const groups = await groupByHostSliced(candidates, slicer);
    const exact = new Map<string, PathBucket>();
    const wildcard = new Map<string, PathBucket>();
    for (const [host, list] of groups.exact) {
      exact.set(host, await PathBucket.build(list, slicer));
      if (slicer.due()) await slicer.pause();
    }
    for (const [suffix, list] of groups.wildcard) {
      wildcard.set(suffix, await PathBucket.build(list, slicer));
      if (slicer.due()) await slicer.pause();
    }
    const any = groups.any.length > 0 ? await PathBucket.build(groups.any, slicer) : null;
    return new HostBuckets(candidates, { exact: VersionedMap.of(exact), wildcard: VersionedMap.of(wildcard), any });
  }

  /**
   * This index after the changes to the buckets they name (a bucket left without routes is dropped); every other
   * bucket is reused as it is, and a changed one shares all it can with its previous version (PathBucket.with). Sound
   * when no route's order key moved (route-order.ts).
   */
  static async update(previous: HostBuckets, changes: ReadonlyMap<HostKey, BucketChange>, slicer: Slicer): Promise<HostBuckets> {
    const exact: Array<[string, PathBucket | undefined]> = [];
    const wildcard: Array<[string, PathBucket | undefined]> = [];
    let any = previous.any;
    for (const [key, change] of changes) {
      const old = previous.bucket(key);
      const bucket = old !== null ? await old.with(change, slicer) : change.added.length > 0 ? PathBucket.of(change.added) : null;
      if (key === ANY_HOST) any = bucket;
      else (key.startsWith('w:') ? wildcard : exact).push([key.slice(2), bucket ?? undefined]);
      if (slicer.due()) await slicer.pause();
    }
    let exactMap = exact.length === 0 ? previous.exact : previous.exact.with(exact);
    if (exactMap.wantsCompaction) exactMap = await exactMap.compacted(slicer);
    let wildcardMap = wildcard.length === 0 ? previous.wildcard : previous.wildcard.with(wildcard);
    if (wildcardMap.wantsCompaction) wildcardMap = await wildcardMap.compacted(slicer);
    return new HostBuckets([], { exact: exactMap, wildcard: wildcardMap, any }, wildcardMap === previous.wildcard ? previous.wildcardLength : undefined);
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
  exact: VersionedMap<string, PathBucket>;
  wildcard: VersionedMap<string, PathBucket>;
  any: PathBucket | null;
}

interface HostGroups {
  exact: Map<string, Candidate[]>;
  wildcard: Map<string, Candidate[]>;
  any: Candidate[];
}

function groupByHost(candidates: readonly Candidate[]): HostGroups {
  const groups: HostGroups = { exact: new Map(), wildcard: new Map(), any: [] };
  for (const c of candidates) group(groups, c);
  return groups;
}

async function groupByHostSliced(candidates: readonly Candidate[], slicer: Slicer): Promise<HostGroups> {
  const groups: HostGroups = { exact: new Map(), wildcard: new Map(), any: [] };
  for (const c of candidates) {
    group(groups, c);
    if (slicer.due()) await slicer.pause();
  }
  return groups;
}

function group(groups: HostGroups, c: Candidate): void {
  for (const key of hostKeys(c.route)) {
    if (key === ANY_HOST) groups.any.push(c);
    else if (key.startsWith('w:')) push(groups.wildcard, key.slice(2), c);
    else push(groups.exact, key.slice(2), c);
  }
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

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

  constructor(candidates: readonly Candidate[]) {
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
    for (const [host, list] of exact) this.exact.set(host, new PathBucket(list));
    this.wildcardLength = new Uint8Array([...wildcard.keys()].reduce((max, s) => Math.max(max, s.length), 0) + 1);
    for (const [suffix, list] of wildcard) {
      this.wildcard.set(suffix, new PathBucket(list));
      this.wildcardLength[suffix.length] = 1;
    }
    this.any = any.length > 0 ? new PathBucket(any) : null;
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

function push(map: Map<string, Candidate[]>, key: string, c: Candidate): void {
  let list = map.get(key);
  if (list === undefined) map.set(key, (list = []));
  list.push(c);
}

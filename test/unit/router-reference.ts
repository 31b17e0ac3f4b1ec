// The router's semantics (the comment at the top of proxy/router/route-index.ts) written as plainly as possible: every
// route checked against every request, no tries, maps or groups. Slow on purpose; the random router tests hold the
// index (full builds and deltas alike) to it. It shares the per-route pieces the spec names (compiled candidates,
// method/header/query checks, the template order), not the structures under test.
import { bySpecificityThenOrder, collectAllowed, compileCandidate, fullyMatches, type Candidate } from '../../proxy/router/candidate.ts';
import type { MatchInput } from '../../proxy/router/route-index-types.ts';
import { compareTemplates } from '../../proxy/router/template-rank.ts';
import type { TableRoute } from '../../proxy/table/table-schema.ts';

/** The table as the reference reads it: each route compiled, in table order. */
export function referenceTable(routes: readonly TableRoute[]): Candidate[] {
  return routes.map((r, i) => compileCandidate(r, i));
}

/** What the router must answer, as "route <id> <params>", "405 <allow>" or "404". */
export function referenceMatch(candidates: Candidate[], input: MatchInput): string {
  const buckets = bucketsFor(candidates, input.host);
  for (const bucket of buckets) {
    const hit = findInBucket(bucket, input);
    if (hit !== null) return `route ${hit.c.route.id} ${JSON.stringify(hit.params)}`;
  }
  const allow = new Set<string>();
  for (const bucket of buckets) for (const tier of pathMatches(bucket, input)) for (const { c } of tier) collectAllowed(c, input, allow);
  return allow.size === 0 ? '404' : `405 ${[...allow].sort().join(',')}`;
}

/** The buckets tried for a host, in order: exact host, wildcard suffixes longest first, any host. */
function bucketsFor(candidates: Candidate[], host: string): Candidate[][] {
  const hostsOf = (c: Candidate): string[] => c.route.hosts.map((h) => h.toLowerCase());
  const suffixes = new Set<string>();
  for (const c of candidates) for (const h of hostsOf(c)) if (h.startsWith('*.') && host.endsWith(h.slice(1)) && host.length > h.length - 1) suffixes.add(h.slice(1));
  return [
    candidates.filter((c) => hostsOf(c).includes(host)),
    ...[...suffixes].sort((a, b) => b.length - a.length).map((s) => candidates.filter((c) => hostsOf(c).includes(`*${s}`))),
    candidates.filter((c) => c.route.hosts.length === 0 || hostsOf(c).includes('*')),
  ];
}

interface PathHit {
  c: Candidate;
  params: Record<string, string> | null;
}

/** Every candidate whose path matches, tier by tier, each tier in its precedence order. */
function pathMatches(bucket: Candidate[], input: MatchInput): PathHit[][] {
  const path = input.path;
  const exact = bucket.filter((c) => c.path.type === 'exact' && c.path.value === path).sort(bySpecificityThenOrder);
  const templates = bucket
    .filter((c) => c.path.type === 'template')
    .sort(compareTemplates)
    .map((c) => ({ c, params: templateParams(c, path) }))
    .filter((h): h is { c: Candidate; params: Record<string, string> } => h.params !== null);
  const prefixKey = (c: Candidate): string => (c.path.type === 'prefix' ? c.path.key : '');
  const prefixes = bucket
    .filter((c) => c.path.type === 'prefix' && (path === c.path.key || path.startsWith(`${c.path.key}/`)))
    .sort((a, b) => prefixKey(b).length - prefixKey(a).length || bySpecificityThenOrder(a, b));
  const regexes = bucket
    .filter((c) => c.path.type === 'regex')
    .sort((a, b) => a.order - b.order)
    .map((c) => ({ c, params: regexParams(c, path) }))
    .filter((h) => h.params !== undefined) as PathHit[];
  return [exact.map((c) => ({ c, params: null })), templates, prefixes.map((c) => ({ c, params: null })), regexes];
}

function findInBucket(bucket: Candidate[], input: MatchInput): PathHit | null {
  for (const tier of pathMatches(bucket, input)) for (const hit of tier) if (fullyMatches(hit.c, input)) return hit;
  return null;
}

/** A template's params for the path, or null when it does not match (a malformed escape included). */
function templateParams(c: Candidate, path: string): Record<string, string> | null {
  if (c.path.type !== 'template' || !path.startsWith('/')) return null;
  const parts = path.slice(1).split('/');
  const segments = c.path.template.segments;
  const raw: Array<[string, string]> = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg.kind === 'greedy') {
      const rest = parts.slice(i).join('/');
      if (i >= parts.length || rest === '') return null;
      raw.push([seg.name, rest]);
      return decoded(raw);
    }
    const part = parts[i];
    if (part === undefined) return null;
    if (seg.kind === 'static' && part !== seg.text) return null;
    if (seg.kind === 'param') {
      if (part === '') return null;
      raw.push([seg.name, part]);
    }
    if (seg.kind === 'mixed') {
      if (part.length <= seg.prefix.length + seg.suffix.length || !part.startsWith(seg.prefix) || !part.endsWith(seg.suffix)) return null;
      raw.push([seg.name, part.slice(seg.prefix.length, part.length - seg.suffix.length)]);
    }
  }
  return parts.length === segments.length ? decoded(raw) : null;
}

function decoded(raw: Array<[string, string]>): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (const [name, value] of raw) {
    try {
      params[name] = decodeURIComponent(value);
    } catch {
      return null;
    }
  }
  return params;
}

/** undefined: no match; null: a match without named groups. */
function regexParams(c: Candidate, path: string): Record<string, string> | null | undefined {
  if (c.path.type !== 'regex') return undefined;
  const m = c.path.re.exec(path);
  if (m === null) return undefined;
  if (m.groups === undefined) return null;
  const raw = Object.entries(m.groups).filter((e): e is [string, string] => e[1] !== undefined);
  return decoded(raw) ?? undefined;
}

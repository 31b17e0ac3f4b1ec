// The proxy's router: builds, once per table, an index that finds the route for a request in a few
// microseconds at 10,000 routes. Everything (regexes, matchers, tries) is compiled here so match()
// does only map lookups, string compares and precompiled regex tests.
//
// Semantics
// - Hosts (input.host is lower-case, no port). A route's hosts are exact ("api.example.com"),
//   wildcard ("*.example.com": matches "a.example.com" and "a.b.example.com", not "example.com"),
//   or none (= any host; "*" means the same). Buckets are tried in order: exact host, wildcard
//   suffixes longest first, any host. A bucket with no fully matching route falls through.
// - Paths, within a bucket (the path is matched as given, raw, without the query):
//   1. exact: string equality ("/a" and "/a/" differ).
//   2. template: `{name}` is one non-empty segment; `{name}.json`/`v{name}` mix one param with static
//      text in a segment (non-empty value); `{name+}` (last segment only) is the non-empty rest of
//      the path, slashes included. Static segments compare raw; param values are decodeURIComponent'd
//      and a malformed escape means that template does not match. Order: more static segments
//      first, then at the first differing position static > mixed (longer literal first) > param >
//      greedy, then more segments. "/a/{x}" does not match "/a/b/" (the trailing empty segment).
//   3. prefix: on segment boundaries, longest first. "/api" (or "/api/") matches "/api", "/api/",
//      "/api/x", not "/apix"; "/" matches every path.
//   4. regex: table order; anchored (^…$) over the whole path; named groups become params.
//   Ties within a tier (same exact path, same template shape, same prefix) go to more header+query
//   matchers, then table order.
// - The first route in that order whose methods (none = any; HEAD allowed where GET is), headers
//   and query all match wins: {kind:'route', route, params} (params null unless template/regex groups).
//   Header matchers: exact, regex (anchored), present; names lower-case; repeated values joined ", ".
//   Query matchers: same kinds on the first value of a name; `+` and %XX decoded (a malformed escape
//   is kept literally).
// - Else, if any route in the buckets tried matched on path, headers and query but not method:
//   {kind:'method-not-allowed', allow} (sorted, unique, HEAD added with GET). Else {kind:'not-found'}.
// - A route's result without params is one frozen object shared by all requests: do not mutate it.
// - A table entry the index cannot compile (bad regex, bad template, bad host) makes
//   buildRouteIndex throw an Error naming the route id.
import type { TableRoute } from '../table/table-schema.ts';
import { compileCandidate } from './candidate.ts';
import { HostBuckets, hostKeys, type HostKey, type Slicer } from './host-buckets.ts';
import type { MatchInput, MatchResult, RouteIndex } from './route-index-types.ts';

const NOT_FOUND: MatchResult = Object.freeze({ kind: 'not-found' });

class CompiledRouteIndex implements RouteIndex {
  readonly hosts: HostBuckets;

  constructor(hosts: HostBuckets) {
    this.hosts = hosts;
  }

  match(input: MatchInput): MatchResult {
    const hit = this.hosts.find(input);
    if (hit !== null) return hit;
    // Slow path, taken only on a miss: was it the method that failed?
    const allow = new Set<string>();
    this.hosts.collectAllow(input, allow);
    if (allow.size === 0) return NOT_FOUND;
    return { kind: 'method-not-allowed', allow: [...allow].sort() };
  }
}

export function buildRouteIndex(routes: readonly TableRoute[]): RouteIndex {
  return new CompiledRouteIndex(new HostBuckets(routes.map((route, order) => compileCandidate(route, order))));
}

/** The same index as buildRouteIndex, built in time slices (see HostBuckets.build); throws the same errors. */
export async function buildRouteIndexSliced(routes: readonly TableRoute[], slicer: Slicer): Promise<RouteIndex> {
  const candidates: ReturnType<typeof compileCandidate>[] = [];
  for (let order = 0; order < routes.length; order++) {
    candidates.push(compileCandidate(routes[order] as TableRoute, order));
    if (slicer.due()) await slicer.pause();
  }
  return new CompiledRouteIndex(await HostBuckets.build(candidates, slicer));
}

/**
 * The index of `routes`, reusing `previous`'s host buckets that no `touched` route is in (touched: the old versions of
 * removed and changed routes and the new versions of changed and added ones). Only valid when every other route kept
 * its content and its order relative to the others, which is what a table delta guarantees. The buckets that are
 * rebuilt get all their routes compiled again with their new positions; the others keep theirs (same relative order).
 * The walk over `routes` is one map lookup per route: which routes a rebuilt bucket holds comes from the old bucket's
 * members and the touched routes, never from recomputing every route's hosts.
 */
export async function buildRouteIndexDelta(previous: RouteIndex, routes: readonly TableRoute[], touched: readonly TableRoute[], slicer: Slicer): Promise<RouteIndex> {
  if (!(previous instanceof CompiledRouteIndex)) return buildRouteIndexSliced(routes, slicer);
  const affected = new Map<HostKey, ReturnType<typeof compileCandidate>[]>();
  for (const route of touched) for (const key of hostKeys(route)) affected.set(key, []);
  // Every route that may land in a rebuilt bucket, with its bucket keys: the rebuilt buckets' old members (those that
  // left the table are simply never met below) and the touched routes.
  const wanted = new Map<TableRoute, HostKey[]>();
  for (const key of affected.keys()) {
    for (const member of previous.hosts.bucket(key)?.members ?? []) if (!wanted.has(member.route)) wanted.set(member.route, hostKeys(member.route));
  }
  for (const route of touched) wanted.set(route, hostKeys(route));
  for (let order = 0; order < routes.length; order++) {
    const route = routes[order] as TableRoute;
    const keys = wanted.get(route);
    if (keys !== undefined) for (const key of keys) affected.get(key)?.push(compileCandidate(route, order));
    if (slicer.due()) await slicer.pause();
  }
  return new CompiledRouteIndex(await HostBuckets.rebuild(previous.hosts, affected, slicer));
}

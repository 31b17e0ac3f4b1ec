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
import { compileCandidate, type Candidate } from './candidate.ts';
import type { BucketChange } from './path-bucket.ts';
import { HostBuckets, hostKeys, type HostKey, type Slicer } from './host-buckets.ts';
import type { MatchInput, MatchResult, RouteIndex } from './route-index-types.ts';
import { ORDER_SPACING } from './route-order.ts';
import { VersionedMap } from './versioned-map.ts';

const NOT_FOUND: MatchResult = Object.freeze({ kind: 'not-found' });

class CompiledRouteIndex implements RouteIndex {
  readonly hosts: HostBuckets;
  /** Each route's order key (route-order.ts), by route id: what a delta places added routes against. */
  readonly orders: VersionedMap<string, number>;

  constructor(hosts: HostBuckets, orders: VersionedMap<string, number>) {
    this.hosts = hosts;
    this.orders = orders;
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
  const orders = new Map<string, number>();
  const candidates = routes.map((route, i) => {
    orders.set(route.id, i * ORDER_SPACING);
    return compileCandidate(route, i * ORDER_SPACING);
  });
  return new CompiledRouteIndex(new HostBuckets(candidates), VersionedMap.of(orders));
}

/** The same index as buildRouteIndex, built in time slices (see HostBuckets.build); throws the same errors. */
export async function buildRouteIndexSliced(routes: readonly TableRoute[], slicer: Slicer): Promise<RouteIndex> {
  const candidates: Candidate[] = [];
  const orders = new Map<string, number>();
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i] as TableRoute;
    orders.set(route.id, i * ORDER_SPACING);
    candidates.push(compileCandidate(route, i * ORDER_SPACING));
    if (slicer.due()) await slicer.pause();
  }
  return new CompiledRouteIndex(await HostBuckets.build(candidates, slicer), VersionedMap.of(orders));
}

/** A route's order key in `index`, for placing routes a delta adds (undefined: not an index this module built). */
export function orderKeyOf(index: RouteIndex, routeId: string): number | undefined {
  return index instanceof CompiledRouteIndex ? index.orders.get(routeId) : undefined;
}

/**
 * The index after a table delta, from `previous`: `removed` are the old versions of removed and changed routes,
 * `added` the new versions of changed and added ones with their order keys (a changed route keeps its key). Only the
 * host buckets these are in change, and within them only the keys the routes sit at (PathBucket.with); the added
 * routes are compiled once, every other bucket and candidate is shared with `previous`. Nothing walks the table or a
 * bucket: the cost follows the change.
 */
export async function buildRouteIndexDelta(
  previous: RouteIndex,
  removed: readonly TableRoute[],
  added: ReadonlyArray<{ route: TableRoute; order: number }>,
  slicer: Slicer,
): Promise<RouteIndex> {
  if (!(previous instanceof CompiledRouteIndex)) throw new Error('a delta needs an index built by this module');
  const changes = new Map<HostKey, BucketChange>();
  const changeAt = (key: HostKey): BucketChange => {
    let change = changes.get(key);
    if (change === undefined) changes.set(key, (change = { removed: [], added: [] }));
    return change;
  };
  for (const route of removed) for (const key of hostKeys(route)) changeAt(key).removed.push(route);
  for (const { route, order } of added) {
    const candidate = compileCandidate(route, order);
    for (const key of hostKeys(route)) changeAt(key).added.push(candidate);
  }
  if (slicer.due()) await slicer.pause();
  const orderChanges: Array<[string, number | undefined]> = removed.map((r) => [r.id, undefined]);
  for (const { route, order } of added) orderChanges.push([route.id, order]);
  let orders = previous.orders.with(orderChanges);
  if (orders.wantsCompaction) orders = await orders.compacted(slicer);
  return new CompiledRouteIndex(await HostBuckets.update(previous.hosts, changes, slicer), orders);
}

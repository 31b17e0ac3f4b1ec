// A route compiled for matching: everything a request is checked against, precomputed, plus the
// shared result object returned when it wins without params (so a hit allocates nothing).
import type { TableRoute } from '../table/table-schema.ts';
import type { MatchInput, MatchResult } from './route-index-types.ts';
import { compilePath, type CompiledPath } from './compiled-path.ts';
import { compileValueMatchers, headersMatch, queryMatches, type ValueMatcher } from './value-matchers.ts';

export interface Candidate {
  readonly route: TableRoute;
  /** Order key: the route's position in the table, with gaps (route-order.ts); the last tie-breaker. */
  readonly order: number;
  readonly path: CompiledPath;
  readonly anyMethod: boolean;
  /** Upper-case, unique, with HEAD added when GET is present. */
  readonly methods: readonly string[];
  readonly headers: readonly ValueMatcher[];
  readonly query: readonly ValueMatcher[];
  /** Header + query matcher count: more specific candidates win ties. */
  readonly specificity: number;
  /** Frozen and shared by every request this candidate wins without params. */
  readonly result: MatchResult;
}

/** Shared by every candidate without methods or matchers (most of them): at 50k routes, three arrays each add up. */
const NONE: readonly never[] = Object.freeze([]);

export function compileCandidate(route: TableRoute, order: number): Candidate {
  const methods = new Set(route.methods.map((m) => m.toUpperCase()));
  if (methods.has('GET')) methods.add('HEAD');
  const headers = route.headers.length === 0 ? NONE : compileValueMatchers(route.headers, 'header', route.id);
  const query = route.query.length === 0 ? NONE : compileValueMatchers(route.query, 'query', route.id);
  return {
    route,
    order,
    path: compilePath(route.path, route.id),
    anyMethod: methods.size === 0,
    methods: methods.size === 0 ? NONE : [...methods],
    headers,
    query,
    specificity: headers.length + query.length,
    result: Object.freeze({ kind: 'route', route, params: null }),
  };
}

/** Tie order among candidates with the same path precedence. */
export function bySpecificityThenOrder(a: Candidate, b: Candidate): number {
  return b.specificity - a.specificity || a.order - b.order;
}

export function methodAllowed(c: Candidate, method: string): boolean {
  return c.anyMethod || c.methods.includes(method);
}

/** Headers and query (the path was matched by the caller). */
export function conditionsMatch(c: Candidate, input: MatchInput): boolean {
  return (c.headers.length === 0 || headersMatch(c.headers, input.headers)) && (c.query.length === 0 || queryMatches(c.query, input.query));
}

/** Method first: it is the cheapest check and the most selective one. */
export function fullyMatches(c: Candidate, input: MatchInput): boolean {
  return methodAllowed(c, input.method) && conditionsMatch(c, input);
}

/** The first candidate of an already-ordered list that matches the request. */
export function firstMatch(list: readonly Candidate[], input: MatchInput): Candidate | null {
  for (let i = 0; i < list.length; i++) {
    if (fullyMatches(list[i]!, input)) return list[i]!;
  }
  return null;
}

/** For a 405: the methods of candidates whose path and conditions match but whose methods do not. */
export function collectAllowed(c: Candidate, input: MatchInput, allow: Set<string>): void {
  if (c.anyMethod || !conditionsMatch(c, input)) return;
  for (const m of c.methods) allow.add(m);
}

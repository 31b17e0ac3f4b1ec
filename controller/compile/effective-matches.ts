// A rule without matches matches everything below the route's basePath: one Prefix "/" match.
import type { RouteMatch, RouteRule } from '../../crds/schemas/index.ts';

export const DEFAULT_MATCH: RouteMatch = { path: { type: 'Prefix', value: '/' } };

export function effectiveMatches(rule: RouteRule): RouteMatch[] {
  return rule.matches && rule.matches.length > 0 ? rule.matches : [DEFAULT_MATCH];
}

export function matchPath(match: RouteMatch): NonNullable<RouteMatch['path']> {
  return match.path ?? { type: 'Prefix', value: '/' };
}

// The boundary between the router (which finds a route) and the request path (which serves it).
import type { IncomingHttpHeaders } from 'node:http';
import type { TableRoute } from '../table/table-schema.ts';

export interface MatchInput {
  /** Lower-case host without port. */
  host: string;
  /** Upper-case method. */
  method: string;
  /** The decoded-for-matching path, without the query string. */
  path: string;
  /** Raw query string without "?" ("" when none). */
  query: string;
  headers: IncomingHttpHeaders;
}

export type MatchResult =
  | { kind: 'route'; route: TableRoute; params: Record<string, string> | null }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

export interface RouteIndex {
  match(input: MatchInput): MatchResult;
}

// Builds table routes and match inputs for the router tests and benchmark: only the fields the
// router reads vary; the rest are fixed valid defaults.
import type { IncomingHttpHeaders } from 'node:http';
import type { MatchInput } from '../../proxy/router/route-index-types.ts';
import { ROUTE_DEFAULTS, type TableRoute, type TablePathMatch, type TableValueMatch } from '../../proxy/table/table-schema.ts';

export interface RouteSpec {
  id: string;
  path: TablePathMatch | string;
  hosts?: string[];
  methods?: string[];
  headers?: TableValueMatch[];
  query?: TableValueMatch[];
}

/** A string path is an exact match unless it contains "{" (template) or ends in "*" (prefix). */
export function route(spec: RouteSpec): TableRoute {
  return {
    id: spec.id,
    source: { namespace: 'default', name: spec.id, rule: 0, match: 0 },
    hosts: spec.hosts ?? [],
    path: typeof spec.path === 'string' ? pathOf(spec.path) : spec.path,
    methods: spec.methods ?? [],
    headers: spec.headers ?? [],
    query: spec.query ?? [],
    requestHeaders: { set: [], add: [], remove: [] },
    responseHeaders: { set: [], add: [], remove: [] },
    backends: [{ backend: 'url:http://127.0.0.1:1', weight: 1 }],
    timeouts: { connectMs: ROUTE_DEFAULTS.connectMs, requestMs: ROUTE_DEFAULTS.requestMs, idleMs: ROUTE_DEFAULTS.idleMs },
    retries: { attempts: ROUTE_DEFAULTS.retryAttempts },
    maxBodyBytes: ROUTE_DEFAULTS.maxBodyBytes,
  };
}

function pathOf(p: string): TablePathMatch {
  if (p.endsWith('*')) return { type: 'prefix', value: p.slice(0, -1) };
  if (p.includes('{')) return { type: 'template', value: p };
  return { type: 'exact', value: p };
}

export interface RequestSpec {
  host?: string;
  method?: string;
  path: string;
  headers?: IncomingHttpHeaders;
}

/** "GET /a/b?x=1" style: the query is split off like the request path does. */
export function request(spec: RequestSpec): MatchInput {
  const q = spec.path.indexOf('?');
  return {
    host: spec.host ?? 'example.com',
    method: spec.method ?? 'GET',
    path: q === -1 ? spec.path : spec.path.slice(0, q),
    query: q === -1 ? '' : spec.path.slice(q + 1),
    headers: spec.headers ?? {},
  };
}

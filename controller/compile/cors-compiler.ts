// An ApiRoute's CORS block (the rule's, else the ApiRoute's default) → the table's, normalised the way browsers
// serialise an Origin header, so the proxy compares strings: lower-case, default ports dropped, lists sorted.
import type { RouteRule } from '../../crds/schemas/index.ts';
import { parseDurationMs } from '../../crds/schemas/index.ts';
import type { TableCors } from '../../proxy/table/table-schema.ts';
import { cmp } from './resource-key.ts';

/** What browsers send without asking in a preflight: the default when `allowMethods` is not set. */
const SAFELISTED_METHODS = ['GET', 'HEAD', 'POST'];
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

export function routeCors(cors: RouteRule['cors']): TableCors | undefined {
  if (cors === undefined) return undefined;
  const origins = sortedUnique(cors.allowOrigins.map(normalizeOrigin));
  return {
    // "*" among others admits any origin: the list collapses to it.
    allowOrigins: origins.includes('*') ? ['*'] : origins,
    allowMethods: sortedUnique(cors.allowMethods ?? SAFELISTED_METHODS),
    allowHeaders: sortedUnique((cors.allowHeaders ?? []).map((h) => h.toLowerCase())),
    exposeHeaders: sortedUnique((cors.exposeHeaders ?? []).map((h) => h.toLowerCase())),
    allowCredentials: cors.allowCredentials ?? false,
    // Access-Control-Max-Age is whole seconds.
    ...(cors.maxAge !== undefined && { maxAgeSeconds: Math.floor(parseDurationMs(cors.maxAge) / 1000) }),
  };
}

/** "HTTPS://App.Example.com:443" → "https://app.example.com", as a browser would send it. */
export function normalizeOrigin(origin: string): string {
  if (origin === '*') return origin;
  const lower = origin.toLowerCase();
  const schemeEnd = lower.indexOf('://');
  const colon = lower.lastIndexOf(':');
  // The last colon is a port's only if it comes after the host (an IPv6 literal ends with "]").
  if (colon <= schemeEnd || lower.endsWith(']')) return lower;
  const port = lower.slice(colon + 1);
  const withoutPort = lower.slice(0, colon);
  if (DEFAULT_PORTS[lower.slice(0, schemeEnd)] === String(Number(port))) return withoutPort;
  // "08080" → "8080": browsers never send leading zeros.
  return `${withoutPort}:${Number(port)}`;
}

function sortedUnique(items: string[]): string[] {
  return [...new Set(items)].sort(cmp);
}

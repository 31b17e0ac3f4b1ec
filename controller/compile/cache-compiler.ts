// A rule's cache block → the table's: defaults filled in (TTL 5 minutes, 1 MiB entries, this proxy's memory), names
// lower-cased and sorted, so equal settings compile the same. A TTL of zero turns the cache off: no table field at all.
import type { RouteRule } from '../../crds/schemas/index.ts';
import { parseDurationMs, parseSizeBytes } from '../../crds/schemas/index.ts';
import { ROUTE_DEFAULTS, type TableCache } from '../../proxy/table/table-schema.ts';
import { cmp } from './resource-key.ts';

/** `id` is the rule's ("<ns>/<name>/r<rule>"): every match of the rule shares its entries; `epoch` the ApiRoute's cacheEpoch. */
export function routeCache(cache: RouteRule['cache'], id: string, epoch: string | undefined): TableCache | undefined {
  if (cache === undefined) return undefined;
  const ttlMs = cache.ttl === undefined ? ROUTE_DEFAULTS.cacheTtlMs : parseDurationMs(cache.ttl);
  if (ttlMs <= 0) return undefined;
  const shared = cache.shared === true || cache.storage === 'Redis';
  return {
    id,
    ttlMs,
    varyHeaders: sortedUnique((cache.varyHeaders ?? []).map((h) => h.toLowerCase())),
    ...(cache.queryParams !== undefined && { queryParams: sortedUnique(cache.queryParams) }),
    maxEntryBytes: cache.maxEntrySize === undefined ? ROUTE_DEFAULTS.cacheMaxEntryBytes : Math.max(1, parseSizeBytes(cache.maxEntrySize)),
    storage: shared ? 'redis' : 'memory',
    ...(cache.allowClientInvalidation === true && { clientInvalidation: cache.invalidationScope === undefined ? {} : { scope: cache.invalidationScope } }),
    ...(epoch !== undefined && { epoch }),
  };
}

function sortedUnique(items: string[]): string[] {
  return [...new Set(items)].sort(cmp);
}

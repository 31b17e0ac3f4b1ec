// The table version: a content hash, so equal tables get equal versions on every controller replica
// and a push that changes nothing can be recognised and skipped.
import { createHash } from 'node:crypto';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';
import { stableJson } from './stable-json.ts';

/**
 * sha256 (first 32 hex chars) of the key-sorted JSON of everything in the table except its version.
 * `routeJson` may supply each route's key-sorted JSON from a cache; the bytes hashed are the same either way
 * (the content's keys are written in sorted order, routes one by one).
 */
export function tableVersion(content: Omit<RoutingTable, 'version'>, routeJson: (route: RoutingTable['routes'][number]) => string = stableJson): string {
  const hash = createHash('sha256');
  hash.update('{');
  const record = content as unknown as Record<string, unknown>;
  let first = true;
  for (const key of Object.keys(record).sort()) {
    const value = record[key];
    if (value === undefined) continue;
    hash.update(`${first ? '' : ','}${JSON.stringify(key)}:`);
    first = false;
    if (key === 'routes') {
      // One update per route costs more than the hashing itself at 30k routes: join first.
      hash.update(`[${content.routes.map((route) => routeJson(route)).join(',')}]`);
    } else {
      hash.update(stableJson(value));
    }
  }
  hash.update('}');
  return hash.digest('hex').slice(0, 32);
}

// The table version: a content hash, so equal tables get equal versions on every controller replica
// and a push that changes nothing can be recognised and skipped.
import { createHash } from 'node:crypto';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';
import { stableJson } from './stable-json.ts';

/** sha256 (first 32 hex chars) of the key-sorted JSON of everything in the table except its version. */
export function tableVersion(content: Omit<RoutingTable, 'version'>): string {
  return createHash('sha256').update(stableJson(content)).digest('hex').slice(0, 32);
}

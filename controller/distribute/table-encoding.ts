// A table made ready to send, once per version, whatever the number of proxies: split into parts of a bounded number
// of routes and backends, each gzip'd. Also a `shape` digest of everything but the endpoints, so two tables that differ
// only in endpoints are recognised and sent as an endpoint update instead.
import { createHash } from 'node:crypto';
import { encodeCompressed } from '../../proxy/table/stream-frames.ts';
import type { TablePartMessage } from '../../proxy/table/stream-protocol.ts';
import type { RoutingTable, TableEndpoint } from '../../proxy/table/table-schema.ts';

export const ROUTES_PER_PART = 500;
export const BACKENDS_PER_PART = 1_000;

export interface EncodedTable {
  version: string;
  routes: number;
  /** gzip'd `table-part` messages, in order. */
  parts: Buffer[];
  bytes: number;
  /** Digest of the table without its version and endpoints. */
  shape: string;
  /** Each backend's endpoints as JSON, by backend id (for endpoint diffs). */
  endpoints: Map<string, string>;
  /** The endpoints themselves, by backend id. */
  endpointLists: Map<string, TableEndpoint[]>;
}

export async function encodeTable(table: RoutingTable): Promise<EncodedTable> {
  const partCount = Math.max(1, Math.ceil(table.routes.length / ROUTES_PER_PART), Math.ceil(table.backends.length / BACKENDS_PER_PART));
  const shape = createHash('sha256').update(`schema:${table.schema}\n`);
  const parts: Promise<Buffer>[] = [];
  for (let part = 0; part < partCount; part++) {
    const routes = table.routes.slice(part * ROUTES_PER_PART, (part + 1) * ROUTES_PER_PART);
    const backends = table.backends.slice(part * BACKENDS_PER_PART, (part + 1) * BACKENDS_PER_PART);
    const message: TablePartMessage = { type: 'table-part', version: table.version, schema: table.schema, part, parts: partCount, routes, backends };
    parts.push(encodeCompressed(message));
    shape.update(JSON.stringify(routes));
    shape.update(JSON.stringify(backends.map(({ endpoints: _endpoints, ...rest }) => rest)));
  }
  const buffers = await Promise.all(parts);
  return {
    version: table.version,
    routes: table.routes.length,
    parts: buffers,
    bytes: buffers.reduce((n, b) => n + b.length, 0),
    shape: shape.digest('hex'),
    endpoints: new Map(table.backends.map((b) => [b.id, JSON.stringify(b.endpoints)])),
    endpointLists: new Map(table.backends.map((b) => [b.id, b.endpoints])),
  };
}

/**
 * The backends whose endpoints changed from `from` to `to`, when that is the only difference; null when anything
 * else changed (routes, backend settings, the set of backends), which needs the whole table.
 */
export function endpointChanges(from: EncodedTable, to: EncodedTable): Array<{ id: string; endpoints: TableEndpoint[] }> | null {
  if (from.shape !== to.shape) return null;
  const changed: Array<{ id: string; endpoints: TableEndpoint[] }> = [];
  for (const [id, json] of to.endpoints) {
    if (from.endpoints.get(id) !== json) changed.push({ id, endpoints: to.endpointLists.get(id) ?? [] });
  }
  return changed;
}

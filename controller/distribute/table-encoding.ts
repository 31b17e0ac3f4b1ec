// A table made ready to send whole, once per version, whatever the number of proxies: split into parts of a bounded
// number of routes and backends, each gzip'd. (What changed between versions is table-delta.ts's job.)
import { encodeCompressed } from '../../proxy/table/stream-frames.ts';
import type { TablePartMessage } from '../../proxy/table/stream-protocol.ts';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';

/**
 * A proxy parses and validates one part in one go. 100 routes is ~1 ms once its validation code is warm, but the
 * first parts a fresh proxy gets run cold: 500 routes took 18-23 ms to validate and, with the parse, held its event
 * loop for 32-40 ms (one proxy joining at 50k routes). More parts cost little: they are encoded once per version.
 */
export const ROUTES_PER_PART = 100;
export const BACKENDS_PER_PART = 1_000;
/** Few, but one API-key authorizer carries a hash per key. */
export const AUTHORIZERS_PER_PART = 50;
/** Small: a handful of limits each. */
export const RATE_POLICIES_PER_PART = 200;
/** A few KB each (certificate chain and key). */
export const CERTIFICATES_PER_PART = 100;
export const TLS_HOSTS_PER_PART = 500;

export interface EncodedTable {
  version: string;
  routes: number;
  /** gzip'd `table-part` messages, in order. */
  parts: Buffer[];
  bytes: number;
}

export async function encodeTable(table: RoutingTable): Promise<EncodedTable> {
  const partCount = Math.max(
    1,
    Math.ceil(table.routes.length / ROUTES_PER_PART),
    Math.ceil(table.backends.length / BACKENDS_PER_PART),
    Math.ceil(table.authorizers.length / AUTHORIZERS_PER_PART),
    Math.ceil(table.ratePolicies.length / RATE_POLICIES_PER_PART),
    Math.ceil(table.certificates.length / CERTIFICATES_PER_PART),
    Math.ceil(table.tlsHosts.length / TLS_HOSTS_PER_PART),
  );
  const parts: Promise<Buffer>[] = [];
  for (let part = 0; part < partCount; part++) {
    const routes = table.routes.slice(part * ROUTES_PER_PART, (part + 1) * ROUTES_PER_PART);
    const backends = table.backends.slice(part * BACKENDS_PER_PART, (part + 1) * BACKENDS_PER_PART);
    const authorizers = table.authorizers.slice(part * AUTHORIZERS_PER_PART, (part + 1) * AUTHORIZERS_PER_PART);
    const ratePolicies = table.ratePolicies.slice(part * RATE_POLICIES_PER_PART, (part + 1) * RATE_POLICIES_PER_PART);
    const certificates = table.certificates.slice(part * CERTIFICATES_PER_PART, (part + 1) * CERTIFICATES_PER_PART);
    const tlsHosts = table.tlsHosts.slice(part * TLS_HOSTS_PER_PART, (part + 1) * TLS_HOSTS_PER_PART);
    const message: TablePartMessage = { type: 'table-part', version: table.version, schema: table.schema, part, parts: partCount, routes, backends, authorizers, ratePolicies, certificates, tlsHosts };
    parts.push(encodeCompressed(message));
  }
  const buffers = await Promise.all(parts);
  return {
    version: table.version,
    routes: table.routes.length,
    parts: buffers,
    bytes: buffers.reduce((n, b) => n + b.length, 0),
  };
}


// The table version: a content hash, so equal tables get equal versions on every controller replica
// and a push that changes nothing can be recognised and skipped.
//
// It is a hash list: sha256 over the digest of everything but the routes, then each route's digest in table
// order (every digest is sha256 of the key-sorted JSON). Same content, same version; and a long-running
// compiler keeps each route's digest, so a change hashes one route's JSON plus 32 bytes per route, instead of
// the whole table's JSON (megabytes at 30k routes).
import { createHash } from 'node:crypto';
import type { RoutingTable, TableRoute } from '../../proxy/table/table-schema.ts';
import { stableJson } from './stable-json.ts';

export type TableContent = Omit<RoutingTable, 'version'>;

export function routeDigest(route: TableRoute): Buffer {
  return createHash('sha256').update(stableJson(route)).digest();
}

/** Digest of the content without its routes (schema, backends, and any other field). */
export function headerDigest(content: TableContent): Buffer {
  const { routes: _routes, ...rest } = content;
  return createHash('sha256').update(stableJson(rest)).digest();
}

/** `routeDigests`: each route's digest in table order, possibly several routes' digests per buffer. */
export function versionFromDigests(header: Buffer, routeDigests: readonly Buffer[]): string {
  // One update of the joined digests: an update per route costs more than hashing the bytes.
  return createHash('sha256').update(Buffer.concat([header, ...routeDigests])).digest('hex').slice(0, 32);
}

/** First 32 hex chars of the hash list over the header digest and every route's digest. */
export function tableVersion(content: TableContent, digestOf: (route: TableRoute) => Buffer = routeDigest): string {
  return versionFromDigests(headerDigest(content), content.routes.map(digestOf));
}

// What the cache holds: an answer (status, the upstream's headers, the body) or, for an answer that came with Vary,
// a marker naming the request headers its variants are keyed by. Both travel to Redis as one value: a JSON line of
// the metadata, then the body's bytes; the JSON is validated on the way back (another process wrote it).
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';

export interface CachedResponse {
  readonly kind: 'response';
  readonly status: number;
  /** The upstream's headers as stored (cache-policy.ts storedHeaders): no hop-by-hop, Age or Set-Cookie. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Clock milliseconds when stored, and until when it is served. */
  readonly storedAt: number;
  readonly expiresAt: number;
  /** The upstream's Age when stored, whole seconds: an Age on a hit adds the time spent here. */
  readonly ageAtStore: number;
  /** The route id whose request stored it (metrics). */
  readonly route: string;
  /** With a Vary from the upstream: the hash of the storing request's values for those headers (cache-key.ts). */
  readonly variant: string | null;
}

/** Under the primary key of an answer that varies: the names its variants are keyed by (each under its own key). */
export interface VaryMarker {
  readonly kind: 'vary';
  /** Lower-case, sorted. */
  readonly names: readonly string[];
  readonly storedAt: number;
  readonly expiresAt: number;
  readonly route: string;
}

export type CacheRecord = CachedResponse | VaryMarker;

const headerValue = z.union([z.string(), z.array(z.string())]);
const metaSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('response'),
    status: z.number().int().min(100).max(599),
    headers: z.record(z.string(), headerValue),
    storedAt: z.number(),
    expiresAt: z.number(),
    ageAtStore: z.number().int().nonnegative(),
    route: z.string(),
    variant: z.string().nullable(),
  }),
  z.object({ kind: z.literal('vary'), names: z.array(z.string()), storedAt: z.number(), expiresAt: z.number(), route: z.string() }),
]);

const NEWLINE = 0x0a;

/** One Redis value: the metadata as a JSON line, then the body. */
export function encodeRecord(record: CacheRecord): Buffer {
  if (record.kind === 'vary') return Buffer.from(`${JSON.stringify(record)}\n`);
  const { body, ...meta } = record;
  return Buffer.concat([Buffer.from(`${JSON.stringify(meta)}\n`), body]);
}

/** null for a value this version cannot read (another writer, a corrupted value): treated as a miss. */
export function decodeRecord(value: Buffer): CacheRecord | null {
  const end = value.indexOf(NEWLINE);
  if (end < 0) return null;
  let json: unknown;
  try {
    json = JSON.parse(value.subarray(0, end).toString('utf8'));
  } catch {
    return null;
  }
  const parsed = metaSchema.safeParse(json);
  if (!parsed.success) return null;
  const meta = parsed.data;
  if (meta.kind === 'vary') return meta;
  return { ...meta, headers: meta.headers as IncomingHttpHeaders, body: value.subarray(end + 1) };
}

/** Bytes a record holds in memory, roughly: the body, the key, and the headers as text. */
export function recordSize(key: string, record: CacheRecord): number {
  let size = 64 + key.length * 2;
  if (record.kind === 'vary') {
    for (const n of record.names) size += n.length * 2;
    return size;
  }
  size += record.body.length;
  for (const name in record.headers) {
    const v = record.headers[name];
    size += name.length * 2 + (typeof v === 'string' ? v.length * 2 : Array.isArray(v) ? v.reduce((n, s) => n + s.length * 2, 0) : 0);
  }
  return size;
}

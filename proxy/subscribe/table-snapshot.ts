// The table file's full snapshot: one line per item, so it is written and read a slice at a time (a 50k-route table
// is ~24 MB; one JSON.parse of it held the event loop for over a second at start).
//
//   {"gatehouseTableSnapshot":1,"schema":4,"version":"…"}
//   routes\t{…one route…}
//   backends\t{…}                       (every list of the table, in the table's key order)
//   end\t{"items":N,"crc32":C}           (C: CRC-32 of every byte before this line)
//
// JSON.stringify never emits a raw newline, so a line is an item. Written to a temp file beside the target (mode 0600:
// the table holds TLS private keys), fsynced, renamed over the target, and the directory fsynced: a crash leaves the
// old snapshot or the new one, never a mix. The trailer catches anything else (a snapshot cut short by a filesystem
// that reordered writes). A file in the older format (the table as one JSON document) is still read.
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { z } from 'zod';
import { routingTableSchema, TABLE_SCHEMA_VERSION, tableAuthorizerSchema, tableBackendSchema, tableCertificateSchema, tableRatePolicySchema, tableRouteSchema, tableTlsHostSchema, type RoutingTable } from '../table/table-schema.ts';

export const TABLE_LISTS = ['routes', 'backends', 'authorizers', 'ratePolicies', 'certificates', 'tlsHosts'] as const;
export type TableList = (typeof TABLE_LISTS)[number];

const ITEM_SCHEMAS: Record<TableList, z.ZodType> = {
  routes: tableRouteSchema,
  backends: tableBackendSchema,
  authorizers: tableAuthorizerSchema,
  ratePolicies: tableRatePolicySchema,
  certificates: tableCertificateSchema,
  tlsHosts: tableTlsHostSchema,
};
const HEADER_MARK = '{"gatehouseTableSnapshot":1,';
const NEWLINE = 0x0a;
/** Items per writev: two buffers each, under Linux's IOV_MAX of 1024. */
const ITEMS_PER_WRITE = 256;

/** The lines of a snapshot before its trailer, as buffers: the header, then `list\tjson` for every item. */
export type SnapshotLines = Iterable<Buffer[]> | AsyncIterable<Buffer[]>;

export function headerLine(schema: number, version: string): Buffer {
  return Buffer.from(`${JSON.stringify({ gatehouseTableSnapshot: 1, schema, version })}\n`);
}

const LIST_PREFIX = Object.fromEntries(TABLE_LISTS.map((l) => [l, Buffer.from(`${l}\t`)])) as Record<TableList, Buffer>;
const NL = Buffer.from('\n');

/** `list\tjson\n` as buffers (prefix, item, newline), for a writer that already has the item's JSON. */
export function itemLine(list: TableList, json: Buffer): Buffer[] {
  return [LIST_PREFIX[list], json, NL];
}

/**
 * A live table's snapshot lines, ITEMS_PER_WRITE items per batch, each item serialised afresh (nothing is cached: a
 * copy of every route's bytes would cost the proxy as much memory again as its table). The writer awaits each batch's
 * write, so the event loop is held for one batch at a time.
 */
export function* tableLines(table: RoutingTable): Generator<Buffer[]> {
  yield [headerLine(table.schema, table.version)];
  for (const list of TABLE_LISTS) {
    const items = table[list] as readonly object[];
    for (let i = 0; i < items.length; i += ITEMS_PER_WRITE) {
      const batch: Buffer[] = [];
      for (const item of items.slice(i, i + ITEMS_PER_WRITE)) batch.push(LIST_PREFIX[list], Buffer.from(JSON.stringify(item)), NL);
      yield batch;
    }
  }
}

/** Named after its target, so a start can find and remove the ones a crash left behind. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Removes temp files a crash left beside `path` (a snapshot or journal write that never reached its rename). */
export async function removeStaleTemps(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(prefix) && n.endsWith('.tmp')).map((n) => rm(join(dirname(path), n), { force: true })));
}

export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Test-only fault points (GATEHOUSE_TABLE_FILE_FAULT): the process kills itself there, as a crash would. */
export function faultPoint(name: string): void {
  if (process.env.GATEHOUSE_TABLE_FILE_FAULT === name) process.kill(process.pid, 'SIGKILL');
}

/**
 * Writes `lines` and the trailer to a temp file, fsyncs it and renames it over `path`. Returns the bytes written.
 * Each batch is one writev, awaited: the event loop runs between batches.
 */
export async function writeSnapshot(path: string, lines: SnapshotLines): Promise<number> {
  const temp = tempPathFor(path);
  const file = await open(temp, 'w', 0o600);
  let bytes = 0;
  let crc = 0;
  let items = -1; // the header is not an item
  try {
    for await (const batch of lines) {
      for (const b of batch) {
        crc = crc32(b, crc);
        bytes += b.length;
        if (b === NL || b[b.length - 1] === NEWLINE) items++;
      }
      await file.writev(batch);
      faultPoint('snapshot-mid-write');
    }
    const trailer = Buffer.from(`end\t${JSON.stringify({ items, crc32: crc })}\n`);
    await file.write(trailer);
    bytes += trailer.length;
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(temp, { force: true });
    throw err;
  }
  await file.close();
  faultPoint('snapshot-before-rename');
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(path);
  return bytes;
}

export type SnapshotHeader = { schema: number; version: string };

/**
 * Reads a snapshot's lines, checking the header and the trailer (item count and checksum), calling `onItem` for each
 * item's JSON (a view into `bytes`, not a copy). `pause` is awaited every few hundred lines (the proxy's loader yields to the event loop there).
 */
export async function scanSnapshot(bytes: Buffer, onItem: (list: TableList, json: Buffer) => void, pause?: () => Promise<void>): Promise<SnapshotHeader> {
  const headerEnd = bytes.indexOf(NEWLINE);
  if (headerEnd < 0) throw new Error('no header line');
  const header = JSON.parse(bytes.toString('utf8', 0, headerEnd)) as { gatehouseTableSnapshot?: unknown; schema?: unknown; version?: unknown };
  if (header.gatehouseTableSnapshot !== 1 || typeof header.schema !== 'number' || typeof header.version !== 'string' || header.version === '') throw new Error('not a table snapshot header');
  let at = headerEnd + 1;
  let items = 0;
  let crc = crc32(bytes.subarray(0, at));
  let checked = at;
  for (let n = 1; ; n++) {
    const end = bytes.indexOf(NEWLINE, at);
    if (end < 0) throw new Error('cut short: no trailer');
    const tab = bytes.indexOf(0x09, at);
    if (tab < 0 || tab > end) throw new Error(`line ${n + 1} has no list name`);
    const list = bytes.toString('latin1', at, tab);
    if (list === 'end') {
      crc = crc32(bytes.subarray(checked, at), crc);
      const trailer = JSON.parse(bytes.toString('utf8', tab + 1, end)) as { items?: unknown; crc32?: unknown };
      if (trailer.items !== items) throw new Error(`trailer says ${String(trailer.items)} items, found ${items}`);
      if (trailer.crc32 !== crc) throw new Error('checksum mismatch');
      if (end + 1 !== bytes.length) throw new Error('bytes after the trailer');
      return { schema: header.schema, version: header.version };
    }
    if (!(TABLE_LISTS as readonly string[]).includes(list)) throw new Error(`line ${n + 1}: unknown list ${JSON.stringify(list.slice(0, 40))}`);
    onItem(list as TableList, bytes.subarray(tab + 1, end));
    items++;
    at = end + 1;
    if (n % 256 === 0) {
      crc = crc32(bytes.subarray(checked, at), crc);
      checked = at;
      if (pause) await pause();
    }
  }
}

export type LoadedSnapshot = { ok: true; table: RoutingTable; bytes: number } | { ok: false; missing: boolean; error: string };

/** Yields to the event loop when the current slice has run for `sliceMs`. */
export function timeSlices(sliceMs = 8): () => Promise<void> {
  let started = performance.now();
  return async () => {
    if (performance.now() - started < sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    started = performance.now();
  };
}

/** A snapshot (or an older single-JSON table file) as a validated table, every item checked with the stream's schemas. */
export async function readSnapshot(path: string): Promise<LoadedSnapshot> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, missing, error: missing ? 'no table file yet' : `cannot read ${path}: ${(err as Error).message}` };
  }
  if (!bytes.subarray(0, HEADER_MARK.length).equals(Buffer.from(HEADER_MARK))) return readOlderFormat(path, bytes);
  const lists: Record<TableList, unknown[]> = { routes: [], backends: [], authorizers: [], ratePolicies: [], certificates: [], tlsHosts: [] };
  let problem: string | undefined;
  let header: SnapshotHeader;
  try {
    header = await scanSnapshot(
      bytes,
      (list, json) => {
        if (problem !== undefined) return;
        const parsed = ITEM_SCHEMAS[list].safeParse(JSON.parse(json.toString('utf8')));
        if (parsed.success) lists[list].push(parsed.data);
        else problem = `a ${list} item is not valid: ${parsed.error.issues[0]?.message ?? 'invalid'}`;
      },
      timeSlices(),
    );
  } catch (err) {
    return { ok: false, missing: false, error: `${path} is not a whole table snapshot: ${(err as Error).message}` };
  }
  if (problem !== undefined) return { ok: false, missing: false, error: `${path}: ${problem}` };
  if (header.schema !== TABLE_SCHEMA_VERSION) return { ok: false, missing: false, error: `${path} holds table schema ${header.schema}; this proxy accepts schema ${TABLE_SCHEMA_VERSION}` };
  const table = { schema: header.schema, version: header.version, ...lists } as RoutingTable;
  return { ok: true, table, bytes: bytes.length };
}

function readOlderFormat(path: string, bytes: Buffer): LoadedSnapshot {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { ok: false, missing: false, error: `${path} is not JSON: ${(err as Error).message}` };
  }
  const parsed = routingTableSchema.safeParse(json);
  if (!parsed.success) return { ok: false, missing: false, error: `${path} is not a routing table this proxy accepts: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  return { ok: true, table: parsed.data, bytes: bytes.length };
}

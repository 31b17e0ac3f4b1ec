// The table file's journal: every change applied after the last snapshot, appended as a record (journal-records.ts).
// The first record names the snapshot version the journal follows on from; each later one is a delta or an endpoint
// update as the controller sent it. Replaying walks the chain from the snapshot's version: a record applies when its
// base is the version reached so far. Reading stops at the first torn or corrupt record, and at the first record that
// does not follow on: what is reached is the last good table.
//
// The chain rule also covers a crash between a compaction's snapshot rename and its journal rewrite: the new snapshot
// is some version v the old journal passes through, so records are skipped until one whose base is v.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { applyListDelta } from '../table/list-delta.ts';
import { deltaMessage, endpointsMessage, type DeltaMessage, type EndpointsMessage } from '../table/stream-protocol.ts';
import { decodeRecords } from './journal-records.ts';
import { TABLE_LISTS, type TableList } from './table-snapshot.ts';

const journalHeader = z.object({ type: z.literal('journal'), base: z.string().min(1), schema: z.number().int() });
export const journalRecord = z.discriminatedUnion('type', [journalHeader, deltaMessage, endpointsMessage]);
export type JournalChange = DeltaMessage | EndpointsMessage;

export function journalHeaderRecord(base: string, schema: number): z.input<typeof journalHeader> {
  return { type: 'journal', base, schema };
}

export interface JournalRead {
  /** False when there is no journal file (a snapshot alone is a whole table). */
  exists: boolean;
  base?: string;
  changes: JournalChange[];
  /** Bytes holding the header and every good record: the next append goes here. */
  goodBytes: number;
  /** Why reading stopped early (torn or corrupt record, a record that is not a change), if it did. */
  stopped?: string;
}

/** Decodes and validates a journal's bytes, up to `uptoBytes` if given (a compaction reads what was there when it began). */
export function parseJournal(bytes: Buffer): JournalRead {
  const decoded = decodeRecords(bytes);
  const [first, ...rest] = decoded.records;
  const header = journalHeader.safeParse(first);
  if (!header.success) return { exists: true, changes: [], goodBytes: 0, stopped: decoded.records.length === 0 ? (decoded.stopped ?? 'empty') : 'no journal header' };
  const changes: JournalChange[] = [];
  // goodBytes counts whole records; a record that decodes but does not validate ends the journal where it starts.
  let goodBytes = decoded.goodBytes;
  for (let i = 0; i < rest.length; i++) {
    const parsed = journalRecord.safeParse(rest[i]);
    if (!parsed.success || parsed.data.type === 'journal') {
      goodBytes = recordOffset(bytes, i + 1);
      return { exists: true, base: header.data.base, changes, goodBytes, stopped: `record ${i + 1} is not a table change` };
    }
    changes.push(parsed.data);
  }
  return { exists: true, base: header.data.base, changes, goodBytes, ...(decoded.stopped !== undefined && { stopped: decoded.stopped }) };
}

function recordOffset(bytes: Buffer, index: number): number {
  let at = 0;
  for (let i = 0; i < index; i++) at += 8 + bytes.readUInt32LE(at);
  return at;
}

export async function readJournal(path: string, uptoBytes?: number): Promise<JournalRead> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, changes: [], goodBytes: 0 };
    throw err;
  }
  return parseJournal(uptoBytes === undefined ? bytes : bytes.subarray(0, uptoBytes));
}

export interface ReplayResult {
  version: string;
  applied: number;
  /** Records before the chain reached the snapshot's version (a compaction's rename landed, its journal rewrite did not). */
  skipped: number;
  /** Why the replay ended before the journal did, if it did. */
  stopped?: string;
  /** The journal starts at the snapshot and every whole record applied: appending may continue after its good bytes. */
  clean: boolean;
}

/**
 * Applies the journal's chain on top of `start` (the snapshot's version): `apply` does one change and returns an error
 * or null. `pause` is awaited between records (each one walks the table's lists).
 */
export async function replayJournal(start: string, journal: JournalRead, apply: (change: JournalChange) => string | null, pause?: () => Promise<void>): Promise<ReplayResult> {
  let version = start;
  let started = journal.base === start;
  let applied = 0;
  let skipped = 0;
  for (const change of journal.changes) {
    if (change.baseVersion !== version) {
      if (started) return { version, applied, skipped, stopped: `record for ${change.version} follows on from ${change.baseVersion}, not ${version}`, clean: false };
      skipped++;
      continue;
    }
    const error = apply(change);
    if (error !== null) return { version, applied, skipped, stopped: `record for ${change.version} does not apply: ${error}`, clean: false };
    started = true;
    version = change.version;
    applied++;
    if (pause) await pause();
  }
  // A torn tail is fine (the writer truncates it); a skip or a record left unapplied means the file must be rewritten.
  const clean = journal.exists && journal.base === start && skipped === 0 && applied === journal.changes.length;
  return { version, applied, skipped, clean, ...(journal.stopped !== undefined && { stopped: journal.stopped }) };
}

/** The table's lists, held as whatever the caller keeps per item (parsed objects, or JSON text in the compactor). */
export type TableLists<T extends { id: string }> = Record<TableList, T[]>;

/** One change applied to `lists` in place; `item` turns a change's item into the caller's form, `withEndpoints` swaps a backend's endpoints. */
export function applyChange<T extends { id: string }>(
  lists: TableLists<T>,
  change: JournalChange,
  item: (list: TableList, value: { id: string }) => T,
  withEndpoints: (backend: T, endpoints: EndpointsMessage['backends'][number]['endpoints']) => T,
): string | null {
  if (change.type === 'endpoints') {
    const updates = new Map(change.backends.map((b) => [b.id, b.endpoints]));
    const backends = lists.backends;
    let found = 0;
    for (let i = 0; i < backends.length && found < updates.size; i++) {
      const endpoints = updates.get(backends[i]!.id);
      if (endpoints === undefined) continue;
      backends[i] = withEndpoints(backends[i]!, endpoints);
      found++;
    }
    return found === updates.size ? null : 'endpoints for a backend the table does not have';
  }
  const next: Partial<TableLists<T>> = {};
  for (const list of TABLE_LISTS) {
    const d = change[list] as { removed: string[]; changed: Array<{ id: string }>; added: Array<{ after: string | null; item: { id: string } }> };
    if (d.removed.length + d.changed.length + d.added.length === 0) continue;
    const result = applyListDelta(lists[list], { removed: d.removed, changed: d.changed.map((c) => item(list, c)), added: d.added.map((a) => ({ after: a.after, item: item(list, a.item) })) }, list);
    if (!result.ok) return result.error;
    next[list] = result.items;
  }
  Object.assign(lists, next);
  return null;
}

// The last applied table on disk (--table-file), so a proxy restarted while the controller is away still serves.
//
// Two files: PATH holds the last full snapshot (table-snapshot.ts), PATH.journal every change applied since, one
// checksummed record each (table-journal.ts). A delta or endpoint update costs one append of its own size and an
// fdatasync, however big the table; nothing on the event loop walks the table. A full table (start, resync) is
// written as a new snapshot, a slice at a time, and the journal restarted after it. When the journal has grown
// (256 records, or a quarter of the snapshot's bytes), a worker thread folds it into a new snapshot and the journal
// is rewritten to hold only what came after.
//
// Crash safety: snapshots and rewritten journals go to a temp file, are fsynced and renamed (then the directory
// fsynced); appends are written in place and fdatasynced before the next batch. A crash at any point leaves a
// snapshot and a journal whose good records chain on from it: loading replays them up to the first torn, corrupt or
// unchained record, which is the last good table. A process crash loses nothing written; a power loss may lose the
// batch being appended (its torn record is dropped on load). Every file is mode 0600: the table holds private keys.
import { chmod, open, rename, type FileHandle } from 'node:fs/promises';
import type { RoutingTable } from '../table/table-schema.ts';
import { encodeRecord } from './journal-records.ts';
import { compactInWorker } from './snapshot-compactor.ts';
import { applyChange, journalHeaderRecord, readJournal, replayJournal, type JournalChange, type JournalRead, type ReplayResult, type TableLists } from './table-journal.ts';
import { faultPoint, readSnapshot, removeStaleTemps, syncDirectory, tableLines, tempPathFor, timeSlices, writeSnapshot } from './table-snapshot.ts';

export const journalPathOf = (path: string): string => `${path}.journal`;

/** Replaying a record walks the table's lists: a start replays at most this many before serving. */
const MAX_JOURNAL_RECORDS = 256;
const MIN_COMPACT_BYTES = 1024 * 1024;

export type LoadedTableFile =
  | { ok: true; table: RoutingTable; replay: ReplayResult; snapshotBytes: number; journalBytes: number }
  | { ok: false; missing: boolean; error: string };

/**
 * The snapshot with the journal's chain replayed on it, validated (the snapshot's items and every record with the
 * stream's schemas), a slice at a time. Reads only: the TableFile writing there removes the temp files a crash left.
 */
export async function loadTableFile(path: string): Promise<LoadedTableFile> {
  const snapshot = await readSnapshot(path);
  if (!snapshot.ok) return snapshot;
  let journal: JournalRead;
  try {
    journal = await readJournal(journalPathOf(path));
  } catch (err) {
    journal = { exists: true, changes: [], goodBytes: 0, stopped: `cannot read the journal: ${(err as Error).message}` };
  }
  const { schema, version } = snapshot.table;
  const lists: TableLists<{ id: string }> = { routes: snapshot.table.routes, backends: snapshot.table.backends, authorizers: snapshot.table.authorizers, ratePolicies: snapshot.table.ratePolicies, certificates: snapshot.table.certificates, tlsHosts: snapshot.table.tlsHosts };
  const replay = await replayJournal(
    version,
    journal,
    (change) =>
      change.type === 'delta' && change.schema !== schema
        ? `a delta for schema ${change.schema} on a schema ${schema} table`
        : applyChange(lists, change, (_list, item) => item, (backend, endpoints) => ({ ...backend, endpoints })),
    timeSlices(),
  );
  const table = { schema, version: replay.version, ...lists } as RoutingTable;
  return { ok: true, table, replay, snapshotBytes: snapshot.bytes, journalBytes: journal.goodBytes };
}

/** `done` are called once the operation is written, failed, or superseded by a snapshot written after it. */
type Op = ({ kind: 'snapshot'; table: RoutingTable } | { kind: 'append'; record: Buffer; version: string } | { kind: 'swap'; generation: number; from: number; records: number; version: string; snapshotBytes: number }) & { done: Array<() => void> };

export interface TableFileOptions {
  onError: (err: unknown) => void;
  /** Journal bytes that trigger a compaction, at least (default 1 MiB, or a quarter of the snapshot if larger). */
  compactAfterBytes?: number;
  /** Journal records that trigger a compaction (default 256). */
  compactAfterRecords?: number;
}

/**
 * Writes the table file as changes are applied: `recordTable` for a full table, `recordChange` for a delta or an
 * endpoint update. One operation at a time, in order; queued appends go out as one write.
 */
export class TableFile {
  readonly #path: string;
  readonly #journalPath: string;
  readonly #onError: (err: unknown) => void;
  readonly #compactBytes: number;
  readonly #compactRecords: number;
  /** The version the files will hold once the queued operations are done. */
  #version: string | undefined;
  #schema = 0;
  /** The version on disk, and what the journal holds. */
  #written: string | undefined;
  #journal: FileHandle | undefined;
  #journalBytes = 0;
  #journalRecords = 0;
  #snapshotBytes = 0;
  #ops: Op[] = [];
  #draining: Promise<void> | undefined;
  #compaction: Promise<void> | undefined;
  /** Bumped by every full snapshot: a compaction begun before one must not rewrite the journal after it. */
  #generation = 0;
  #compactFailedAt = 0;
  #tempsRemoved = false;
  /** Completed compactions, for tests and logs. */
  compactions = 0;

  constructor(path: string, opts: TableFileOptions) {
    this.#path = path;
    this.#journalPath = journalPathOf(path);
    this.#onError = opts.onError;
    this.#compactBytes = opts.compactAfterBytes ?? MIN_COMPACT_BYTES;
    this.#compactRecords = opts.compactAfterRecords ?? MAX_JOURNAL_RECORDS;
  }

  /**
   * Carries on from what loadTableFile read at start: appends continue after the journal's good records (a torn tail
   * is cut off), or, when the journal did not chain on cleanly from the snapshot, the loaded table is written afresh.
   */
  async resume(loaded: LoadedTableFile): Promise<void> {
    if (!loaded.ok) return;
    if (!loaded.replay.clean) {
      void this.recordTable(loaded.table); // written in the background; a failure goes to onError
      return;
    }
    try {
      const journal = await open(this.#journalPath, 'r+');
      await journal.truncate(loaded.journalBytes);
      await chmod(this.#journalPath, 0o600);
      this.#journal = journal;
    } catch (err) {
      this.#onError(err);
      void this.recordTable(loaded.table);
      return;
    }
    this.#version = this.#written = loaded.table.version;
    this.#schema = loaded.table.schema;
    this.#journalBytes = loaded.journalBytes;
    this.#journalRecords = loaded.replay.applied;
    this.#snapshotBytes = loaded.snapshotBytes;
  }

  /**
   * A full table: a new snapshot (anything still queued is superseded by it). Resolves once it is written (or its
   * write failed: onError has it), not waiting for later operations.
   */
  recordTable(table: RoutingTable): Promise<void> {
    this.#version = table.version;
    // The superseded operations are done when the snapshot is: it holds what they would have written.
    const done = this.#ops.flatMap((op) => op.done);
    this.#ops = [{ kind: 'snapshot', table, done }];
    return this.#enqueued(done);
  }

  /**
   * A delta or endpoint update the gateway applied. Appended when it follows on from the file's version; otherwise
   * (a failed write before, a table the file never saw) the gateway's whole table is written instead.
   */
  recordChange(change: JournalChange, current: () => RoutingTable | undefined): Promise<void> {
    if (this.#version === undefined || change.baseVersion !== this.#version) {
      const table = current();
      return table === undefined ? this.#kick() : this.recordTable(table);
    }
    this.#version = change.version;
    const done: Array<() => void> = [];
    this.#ops.push({ kind: 'append', record: encodeRecord(change), version: change.version, done });
    return this.#enqueued(done);
  }

  /** Resolves when every queued operation and any running compaction (with its journal rewrite) is done. */
  async idle(): Promise<void> {
    while (this.#draining !== undefined || this.#compaction !== undefined) {
      await this.#compaction;
      await this.#draining;
    }
  }

  async close(): Promise<void> {
    await this.idle();
    await this.#journal?.close();
    this.#journal = undefined;
  }

  /** Starts the queue if idle; resolves when the operation owning `done` has settled. */
  #enqueued(done: Array<() => void>): Promise<void> {
    const settled = new Promise<void>((resolve) => done.push(resolve));
    void this.#kick();
    return settled;
  }

  #kick(): Promise<void> {
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
      // Queued after the loop saw an empty queue but before this ran (a waiter resumed in between): drain again.
      if (this.#ops.length > 0) void this.#kick();
    });
    return this.#draining;
  }

  async #drain(): Promise<void> {
    if (!this.#tempsRemoved) {
      this.#tempsRemoved = true;
      // Left-over temp files are litter, not a reason to stop writing (an operation's waiters must always settle).
      await removeStaleTemps(this.#path).catch(this.#onError);
    }
    let inFlight: Op[] = [];
    while (this.#ops.length > 0) {
      const op = this.#ops[0] as Op;
      try {
        if (op.kind === 'append') {
          let n = 1;
          while (this.#ops[n]?.kind === 'append') n++;
          const batch = this.#ops.splice(0, n) as Array<Extract<Op, { kind: 'append' }>>;
          inFlight = batch;
          await this.#append(batch);
        } else {
          this.#ops.shift();
          inFlight = [op];
          if (op.kind === 'snapshot') await this.#writeSnapshot(op.table);
          else await this.#swap(op);
        }
      } catch (err) {
        this.#onError(err);
        // The files' state is unknown: drop what was queued on it; the next change writes the whole table.
        const dropped = this.#ops.filter((o) => o.kind !== 'snapshot');
        this.#ops = this.#ops.filter((o) => o.kind === 'snapshot');
        inFlight.push(...dropped);
        if (this.#ops.length === 0) this.#version = undefined;
      }
      for (const settled of inFlight) for (const resolve of settled.done) resolve();
      inFlight = [];
      this.#maybeCompact();
    }
  }

  async #append(batch: Array<{ record: Buffer; version: string }>): Promise<void> {
    const journal = this.#journal;
    if (journal === undefined) throw new Error('no journal open');
    const buffers = batch.map((b) => b.record);
    if (process.env.GATEHOUSE_TABLE_FILE_FAULT === 'journal-mid-append') {
      const first = buffers[0] as Buffer;
      await journal.write(first, 0, first.length >> 1, this.#journalBytes);
      await journal.datasync();
      faultPoint('journal-mid-append');
    }
    const { bytesWritten } = await journal.writev(buffers, this.#journalBytes);
    const total = buffers.reduce((sum, b) => sum + b.length, 0);
    if (bytesWritten !== total) throw new Error(`journal append wrote ${bytesWritten} of ${total} bytes`);
    await journal.datasync();
    this.#journalBytes += total;
    this.#journalRecords += batch.length;
    this.#written = (batch[batch.length - 1] as { version: string }).version;
  }

  async #writeSnapshot(table: RoutingTable): Promise<void> {
    // A running compaction renames its snapshot when done: let it, so this newer one lands after it.
    await this.#compaction;
    this.#generation++;
    this.#written = undefined;
    this.#snapshotBytes = await writeSnapshot(this.#path, tableLines(table));
    faultPoint('after-snapshot-rename');
    this.#schema = table.schema;
    await this.#newJournal(table.version, Buffer.alloc(0), 0);
    this.#written = table.version;
  }

  /** After a compaction: the journal restarts at the compacted version, keeping the records appended meanwhile. */
  async #swap(op: Extract<Op, { kind: 'swap' }>): Promise<void> {
    if (op.generation !== this.#generation || this.#journal === undefined) return;
    const tail = Buffer.alloc(this.#journalBytes - op.from);
    if (tail.length > 0) await this.#journal.read(tail, 0, tail.length, op.from);
    await this.#newJournal(op.version, tail, this.#journalRecords - op.records);
    this.#snapshotBytes = op.snapshotBytes;
    this.compactions++;
  }

  async #newJournal(base: string, tail: Buffer, records: number): Promise<void> {
    const header = encodeRecord(journalHeaderRecord(base, this.#schema));
    const temp = tempPathFor(this.#journalPath);
    const file = await open(temp, 'w', 0o600);
    try {
      await file.writev([header, tail]);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, this.#journalPath);
    await syncDirectory(this.#journalPath);
    await this.#journal?.close();
    this.#journal = await open(this.#journalPath, 'r+');
    this.#journalBytes = header.length + tail.length;
    this.#journalRecords = records;
  }

  #maybeCompact(): void {
    if (this.#compaction !== undefined || this.#journal === undefined || this.#written === undefined || this.#ops.some((o) => o.kind === 'snapshot')) return;
    const dueBytes = Math.max(this.#compactBytes, this.#snapshotBytes / 4);
    if (this.#journalBytes < dueBytes && this.#journalRecords < this.#compactRecords) return;
    if (this.#journalBytes < this.#compactFailedAt * 2) return; // failed at this size: wait for twice as much
    const job = { snapshotPath: this.#path, journalPath: this.#journalPath, uptoBytes: this.#journalBytes, version: this.#written };
    const generation = this.#generation;
    const records = this.#journalRecords;
    this.#compaction = compactInWorker(job)
      .then(
        (result) => {
          faultPoint('compaction-before-swap');
          this.#ops.push({ kind: 'swap', generation, from: job.uptoBytes, records, version: result.version, snapshotBytes: result.bytes, done: [] });
          void this.#kick();
        },
        (err: unknown) => {
          this.#compactFailedAt = job.uptoBytes;
          this.#onError(err);
        },
      )
      .finally(() => (this.#compaction = undefined));
  }
}

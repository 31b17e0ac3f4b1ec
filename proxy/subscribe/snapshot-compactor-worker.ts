// Worker thread: folds the journal into a new snapshot, off the proxy's event loop. It reads the snapshot and the
// journal's first `uptoBytes` from disk (nothing is copied from the main thread, whose table can be 50k routes),
// keeps each item as a view of its JSON in the file's buffer (only its id is read), replays the changes and writes
// the new snapshot (temp file, fsync, rename) from those views. Its memory is about the snapshot's size, not a parsed
// table's. The main thread then rewrites the journal to hold only what came after.
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { applyChange, readJournal, replayJournal, type TableLists } from './table-journal.ts';
import { headerLine, itemLine, scanSnapshot, TABLE_LISTS, writeSnapshot } from './table-snapshot.ts';
import type { CompactionJob, CompactionResult } from './snapshot-compactor.ts';

type Item = { id: string; json: Buffer };

/** The leading `{"id":"…"` of an item, as every table item is serialised; anything else is parsed whole. */
const LEADING_ID = /^\{"id":("(?:[^"\\]|\\.)*")/;

function idOf(json: Buffer): string {
  const leading = LEADING_ID.exec(json.toString('utf8', 0, Math.min(json.length, 2048)));
  const id: unknown = leading ? JSON.parse(leading[1] as string) : (JSON.parse(json.toString('utf8')) as { id?: unknown }).id;
  if (typeof id !== 'string') throw new Error('a snapshot item without an id');
  return id;
}

async function compact(job: CompactionJob): Promise<CompactionResult> {
  const lists: TableLists<Item> = { routes: [], backends: [], authorizers: [], ratePolicies: [], certificates: [], tlsHosts: [] };
  const header = await scanSnapshot(await readFile(job.snapshotPath), (list, json) => lists[list].push({ id: idOf(json), json }));
  const journal = await readJournal(job.journalPath, job.uptoBytes);
  const replay = await replayJournal(header.version, journal, (change) =>
    applyChange(
      lists,
      change,
      (_list, value) => ({ id: value.id, json: Buffer.from(JSON.stringify(value)) }),
      (backend, endpoints) => ({ id: backend.id, json: Buffer.from(JSON.stringify({ ...(JSON.parse(backend.json.toString('utf8')) as object), endpoints })) }),
    ),
  );
  if (replay.version !== job.version) throw new Error(`journal replays to ${replay.version}, expected ${job.version}${replay.stopped ? ` (${replay.stopped})` : ''}`);
  function* lines(): Generator<Buffer[]> {
    yield [headerLine(header.schema, replay.version)];
    for (const list of TABLE_LISTS) {
      let batch: Buffer[] = [];
      for (const item of lists[list]) {
        batch.push(...itemLine(list, item.json));
        if (batch.length >= 768) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    }
  }
  const bytes = await writeSnapshot(job.snapshotPath, lines());
  return { bytes, version: replay.version };
}

compact(workerData as CompactionJob).then(
  (result) => parentPort?.postMessage({ ok: true, result }),
  (err: unknown) => parentPort?.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
);

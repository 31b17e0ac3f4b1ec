// The last applied table on disk, so a proxy restarted while the controller is away still serves.
// Written atomically (a temp file in the same directory, fsync, rename) with mode 0600: a crash mid-write leaves
// the previous file intact, never a torn one. Loaded through the same schema as a table from the stream.
// Written a slice at a time from cached per-route JSON bytes, so persisting a 10k-route table after every change
// neither holds the event loop (a whole-table JSON.stringify took tens of ms) nor hands the GC megabytes of garbage.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { tableJsonChunks } from '../table/table-json.ts';
import { routingTableSchema, type RoutingTable } from '../table/table-schema.ts';

export async function writeTableFile(path: string, table: RoutingTable): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'w', 0o600);
  try {
    for (const chunk of tableJsonChunks(table)) await file.writev(chunk);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

export type LoadedTable = { ok: true; table: RoutingTable } | { ok: false; missing: boolean; error: string };

export async function readTableFile(path: string): Promise<LoadedTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, missing, error: missing ? 'no table file yet' : `cannot read ${path}: ${(err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, missing: false, error: `${path} is not JSON: ${(err as Error).message}` };
  }
  const parsed = routingTableSchema.safeParse(json);
  if (!parsed.success) return { ok: false, missing: false, error: `${path} is not a routing table this proxy accepts: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  return { ok: true, table: parsed.data };
}

/**
 * Coalesces writes: at most one in flight, and only the newest waiting table is written after it, so a burst of
 * endpoint updates costs two writes, not one per update.
 */
export class TableFileWriter {
  readonly #path: string;
  readonly #onError: (err: unknown) => void;
  #waiting: RoutingTable | undefined;
  #writing: Promise<void> | undefined;

  constructor(path: string, onError: (err: unknown) => void) {
    this.#path = path;
    this.#onError = onError;
  }

  /** Resolves once `table`, or a newer one saved after it, is on disk (or its write failed and was reported). */
  save(table: RoutingTable): Promise<void> {
    this.#waiting = table;
    this.#writing ??= this.#drain().finally(() => (this.#writing = undefined));
    return this.#writing;
  }

  async idle(): Promise<void> {
    await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#waiting !== undefined) {
      const table = this.#waiting;
      this.#waiting = undefined;
      try {
        await writeTableFile(this.#path, table);
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}

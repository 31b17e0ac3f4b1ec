// The standalone source: a folder of manifests, re-read whenever anything in it changes.
// A file that fails to parse keeps contributing its last good documents, so a half-saved edit
// never takes routes away; the error is still reported.
import { watch, type FSWatcher } from 'node:fs';
import { listManifestFiles, readManifestFile, type ManifestDocument } from './manifest-files.ts';

export interface FileProblem {
  file: string;
  error: string;
  /** True when the file's previous good contents are still being served. */
  keptPrevious: boolean;
}

export interface FilesSnapshot {
  documents: ManifestDocument[];
  problems: FileProblem[];
}

export interface FilesSourceOptions {
  dir: string;
  onSnapshot: (snapshot: FilesSnapshot) => void;
  /** Quiet period after the last change before re-reading (editors write in bursts). */
  debounceMs?: number;
  /** Re-read at the latest this long after the first change of a burst. */
  maxDelayMs?: number;
}

export class FilesSource {
  readonly #opts: Required<FilesSourceOptions>;
  readonly #lastGood = new Map<string, ManifestDocument[]>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #burstStart = 0;
  #loading: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(opts: FilesSourceOptions) {
    this.#opts = { debounceMs: 100, maxDelayMs: 1000, ...opts };
  }

  /** Read the folder once, emit a snapshot, then watch it. */
  async start(): Promise<void> {
    await this.#reload();
    this.#watcher = watch(this.#opts.dir, { recursive: true }, () => this.#schedule());
    this.#watcher.on('error', (err) => {
      this.#opts.onSnapshot({ documents: this.#allGood(), problems: [{ file: this.#opts.dir, error: `watch failed: ${err.message}`, keptPrevious: true }] });
    });
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    if (this.#timer) clearTimeout(this.#timer);
  }

  #schedule(): void {
    const now = Date.now();
    if (this.#timer === undefined) this.#burstStart = now;
    else clearTimeout(this.#timer);
    const wait = Math.min(this.#opts.debounceMs, Math.max(0, this.#burstStart + this.#opts.maxDelayMs - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // Serialise reloads: a slow read must not interleave with the next one.
      this.#loading = this.#loading.then(() => this.#reload());
    }, wait);
  }

  async #reload(): Promise<void> {
    if (this.#closed) return;
    let files: string[];
    try {
      files = await listManifestFiles([this.#opts.dir]);
    } catch (err) {
      this.#opts.onSnapshot({ documents: this.#allGood(), problems: [{ file: this.#opts.dir, error: String(err), keptPrevious: true }] });
      return;
    }
    const problems: FileProblem[] = [];
    const seen = new Set<string>();
    for (const path of files) {
      const result = await readManifestFile(path);
      seen.add(result.file);
      if (result.ok) {
        this.#lastGood.set(result.file, result.documents);
      } else {
        problems.push({ file: result.file, error: result.error, keptPrevious: this.#lastGood.has(result.file) });
      }
    }
    // A deleted file takes its resources with it.
    for (const file of this.#lastGood.keys()) if (!seen.has(file)) this.#lastGood.delete(file);
    if (!this.#closed) this.#opts.onSnapshot({ documents: this.#allGood(), problems });
  }

  #allGood(): ManifestDocument[] {
    return [...this.#lastGood.keys()].sort().flatMap((file) => this.#lastGood.get(file) ?? []);
  }
}

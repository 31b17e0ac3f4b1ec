// Runs a compaction (snapshot-compactor-worker.ts) in a worker thread: the journal folded into a new snapshot while
// the event loop keeps serving. One worker per compaction, gone when it is done: the proxy pays for its memory only
// while it runs.
import { Worker } from 'node:worker_threads';

export interface CompactionJob {
  snapshotPath: string;
  journalPath: string;
  /** The journal's length when the compaction began: records after it stay in the journal. */
  uptoBytes: number;
  /** The version those records reach (checked: the new snapshot must be exactly that table). */
  version: string;
}

export interface CompactionResult {
  bytes: number;
  version: string;
}

// The worker's file has this module's own extension: .ts run from source, .js in the image (tsconfig.build.json).
// tsc rewrites the extensions of import specifiers only, never a string in `new URL`.
const WORKER = new URL(`./snapshot-compactor-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * A small young generation: the worker's garbage is a line's worth at a time, and a default-sized nursery only made
 * the proxy's RSS peak higher during a compaction (+143 MB at 50k routes, +112 MB with this).
 */
const LIMITS = { maxYoungGenerationSizeMb: 8 };

export function compactInWorker(job: CompactionJob): Promise<CompactionResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: job, resourceLimits: LIMITS });
    let settled = false;
    worker.once('message', (m: { ok: true; result: CompactionResult } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve(m.result);
      else reject(new Error(`compaction failed: ${m.error}`));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`compaction worker exited (${code}) without an answer`));
    });
  });
}

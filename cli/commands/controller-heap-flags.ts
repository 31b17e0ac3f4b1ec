// V8 heap settings `gatehouse controller` gives itself. Measurements are in docs/controller.md.
//
// - Young generation: V8 grows the two semi-spaces up to 64 MB each on a machine with memory to spare, and the
//   controller's start (listing and compiling 10k ApiRoutes) grows them to that maximum, where they stay: 128 MB of
//   the resident set for objects that live a few milliseconds.
// - Old-generation growth: a burst of status writes (a fresh install or a new leader writing 10k statuses, each
//   answered by the API server and echoed back by the watch) allocates fast enough that V8 picks its largest growth
//   factor, and the heap ends up at 1.5–2.5× what is live; V8 does not give it back while the controller is busy.
//   Growing by 20% per major GC keeps it near the live size, for ~20% longer bulk status writes.
//
// Both can only be set when the isolate is created, so the command re-executes itself once (execve: same pid, same
// stdio, same environment) with the flags the user has not chosen.
//
// `gatehouse proxy` does the same with a 4 MB semi-space (docs/fleet.md, Memory): building a table grew its young
// generation to the 64 MB maximum (~130 MB of the 10k-route proxy's ~210 MB committed; RSS 204 → ~160 MB idle at
// 10k routes), and a scavenge of a full young generation during a 50k-route build held the event loop for 50–150 ms.
// Requests make short-lived garbage only, which a small young generation collects as cheaply.
// The proxy does not take the 20% growth: while a whole table is built the live heap grows from ~20 to ~130 MB (50k
// routes), and at 20% per step that is a major GC every ~80 ms, each pause (10–87 ms measured) landing in a slice of
// the build; V8's own growth took the whole-table apply from 3.3 to 2.0 s of CPU and its stalls from 36–90 to 29–42
// ms, for ~4 MB more resident at 10k routes (docs/fleet.md).
export const CONTROLLER_SEMI_SPACE_MB = 8;
export const CONTROLLER_HEAP_GROWING_PERCENT = 20;
export const PROXY_SEMI_SPACE_MB = 4;

interface HeapFlag {
  /** What we pass. */
  flag: string;
  /** The user passing any of these (command line or NODE_OPTIONS) means they chose; we pass nothing. */
  userChoices: string[];
}

const FLAGS: HeapFlag[] = [
  { flag: `--max-semi-space-size=${CONTROLLER_SEMI_SPACE_MB}`, userChoices: ['--max-semi-space-size', '--max-heap-size'] },
  { flag: `--heap-growing-percent=${CONTROLLER_HEAP_GROWING_PERCENT}`, userChoices: ['--heap-growing-percent'] },
];

const PROXY_FLAGS: HeapFlag[] = [
  { flag: `--max-semi-space-size=${PROXY_SEMI_SPACE_MB}`, userChoices: ['--max-semi-space-size', '--max-heap-size'] },
];

/** The flags to add, given the process's own flags and NODE_OPTIONS (the controller's, or `flags`). */
export function missingHeapFlags(execArgv: readonly string[], nodeOptions: string | undefined, flags: readonly HeapFlag[] = FLAGS): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((a) => a.replaceAll('_', '-'));
  const chosen = (flag: string): boolean => given.some((a) => a === flag || a.startsWith(`${flag}=`));
  return flags.filter((f) => !f.userChoices.some(chosen)).map((f) => f.flag);
}

/** Never returns when it re-executes; returns at once when every flag is set or the platform has no execve. */
export function ensureControllerHeapFlags(): void {
  ensureHeapFlags(FLAGS);
}

/** The proxy's: see the top of this file. */
export function ensureProxyHeapFlags(): void {
  ensureHeapFlags(PROXY_FLAGS);
}

/** The proxy's flags, for tests. */
export function missingProxyHeapFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  return missingHeapFlags(execArgv, nodeOptions, PROXY_FLAGS);
}

function ensureHeapFlags(flags: readonly HeapFlag[]): void {
  const missing = missingHeapFlags(process.execArgv, process.env['NODE_OPTIONS'], flags);
  if (missing.length === 0 || typeof process.execve !== 'function') return;
  const script = process.argv.slice(1);
  process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...script], process.env);
}

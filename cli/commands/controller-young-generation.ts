// V8 grows the young generation (two semi-spaces) up to 64 MB each on a machine with memory to spare, and the
// controller's start (listing and compiling 10k ApiRoutes) grows it to that maximum, where it stays: 128 MB of the
// resident set for objects that live a few milliseconds. The limit can only be set when the isolate is created,
// so `gatehouse controller` re-executes itself (execve: same pid, same stdio, same environment) with the flag,
// unless the user already chose a young-generation size. Measurements are in docs/controller.md.
export const CONTROLLER_SEMI_SPACE_MB = 8;

const USER_CHOICES = ['--max-semi-space-size', '--max-heap-size'];

/** Never returns when it re-executes; returns at once when the flag is set or the platform has no execve. */
export function ensureYoungGenerationLimit(): void {
  const given = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)].map((a) => a.replaceAll('_', '-'));
  if (given.some((a) => USER_CHOICES.some((flag) => a === flag || a.startsWith(`${flag}=`)))) return;
  if (typeof process.execve !== 'function') return;
  const script = process.argv.slice(1);
  process.execve(process.execPath, [process.execPath, `--max-semi-space-size=${CONTROLLER_SEMI_SPACE_MB}`, ...process.execArgv, ...script], process.env);
}

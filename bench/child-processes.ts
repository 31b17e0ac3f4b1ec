// Every process the bench starts, tracked by pid so all of them die with the bench: on success,
// on error, and on Ctrl-C. Nothing is ever killed by name.
import { closeSync, openSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface Started {
  name: string;
  child: ChildProcess;
  /** Tail of stderr+stdout, for the error message when it dies early. */
  output: () => string;
}

const running = new Set<Started>();

/**
 * Start `command args…`, pinned to `cpu` with taskset when given. `stdoutFile`: its stdout goes to that file (as a
 * container runtime takes a pod's log), not through a pipe this process would have to read on the load core.
 */
export function startProcess(name: string, command: string, args: string[], cpu: number | null, stdoutFile?: string): Started {
  const [file, argv] = cpu === null ? [command, args] : ['taskset', ['-c', String(cpu), command, ...args]];
  const out = stdoutFile === undefined ? 'pipe' : openSync(stdoutFile, 'a');
  const child = spawn(file, argv, { stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out); // the child holds its own copy
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const started: Started = { name, child, output: () => tail };
  running.add(started);
  child.once('exit', () => running.delete(started));
  return started;
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopProcess(p: Started, graceMs = 3000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = once(p.child, 'exit');
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stopProcess(p)));
}

/** Last resort when the bench itself is exiting: synchronous SIGKILL of whatever is left. */
function killRemaining(): void {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

let installed = false;
export function killChildrenOnExit(): void {
  if (installed) return;
  installed = true;
  process.once('exit', killRemaining);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping children`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

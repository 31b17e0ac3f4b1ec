// Runs the real `gatehouse` CLI as a child process for tests and benchmarks: collects its output, waits for the
// JSON log line that says it has started, and always ends it by pid (stop(), or this process exiting).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';

const CLI = fileURLToPath(new URL('../../cli/gatehouse.ts', import.meta.url));

/** Started and not yet stopped (a crashed one stays until stop(), so a timed-out wait can show its output). */
const running = new Map<ChildProcess, { what: string; logs: () => string }>();
process.on('exit', () => {
  for (const child of running.keys()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** The last lines of every process started here and not stopped, for a wait that timed out ('' when none). */
export function recentOutput(maxCharsEach = 3_000): string {
  const parts: string[] = [];
  for (const [child, p] of running) {
    const state = child.exitCode !== null || child.signalCode !== null ? `exited with ${child.exitCode ?? child.signalCode}` : 'running';
    const logs = p.logs();
    parts.push(`--- ${p.what} (pid ${child.pid}, ${state}), last output ---\n${logs.length > maxCharsEach ? `…${logs.slice(-maxCharsEach)}` : logs}`);
  }
  return parts.join('\n');
}

export interface CliProcess<T> {
  child: ChildProcess;
  pid: number;
  /** The fields of the start line, as the schema parsed them. */
  started: T;
  stdout: () => string;
  stderr: () => string;
  /** stdout and stderr, in arrival order. */
  logs: () => string;
  /** SIGTERM, then SIGKILL after 5 s; `kill9` skips the grace. */
  stop: (kill9?: boolean) => Promise<void>;
}

export interface CliStartOptions<T> {
  /** `gatehouse` arguments, command first. */
  args: string[];
  /** Text the start line contains; the line is then parsed as JSON with `schema`. */
  marker: string;
  schema: z.ZodType<T>;
  /** Names the process in errors. */
  what: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** The gatehouse script to run (default cli/gatehouse.ts; a bench may run a build of it). */
  entry?: string;
}

export async function startCliProcess<T>(opts: CliStartOptions<T>): Promise<CliProcess<T>> {
  const child = spawn(process.execPath, [opts.entry ?? CLI, ...opts.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...opts.env },
  });
  running.set(child, { what: opts.what, logs: () => all });
  let out = '';
  let err = '';
  let all = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    all += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    all += d;
  });
  const exited = once(child, 'exit');
  const stop = async (kill9 = false): Promise<void> => {
    running.delete(child);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(kill9 ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const started = await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${opts.what} did not start in ${opts.timeoutMs} ms:\n${all}`)), opts.timeoutMs);
      const onData = (): void => {
        for (const line of out.split('\n')) {
          if (!line.includes(opts.marker)) continue;
          const parsed = opts.schema.safeParse(JSON.parse(line));
          if (!parsed.success) continue;
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve(parsed.data);
          return;
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${opts.what} exited early with ${code}:\n${all}`));
      });
    });
    return { child, pid: child.pid ?? 0, started, stdout: () => out, stderr: () => err, logs: () => all, stop };
  } catch (e) {
    await stop(true);
    throw e;
  }
}

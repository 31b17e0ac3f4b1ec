// Runs the real `gatehouse controller` as a child process against a test control plane, and reads its admin port.
// stop() always ends it (SIGTERM, then SIGKILL), and so does this process exiting.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const CLI = fileURLToPath(new URL('../../cli/gatehouse.ts', import.meta.url));

export interface ControllerProcess {
  child: ChildProcess;
  pid: number;
  adminPort: number;
  logs: () => string;
  stop: () => Promise<void>;
}

const startedLine = z.object({ msg: z.literal('gatehouse controller started'), adminPort: z.number().int() });

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export async function startController(kubeconfigPath: string, extraArgs: string[] = [], timeoutMs = 20_000, env: NodeJS.ProcessEnv = {}): Promise<ControllerProcess> {
  const child = spawn(process.execPath, [CLI, 'controller', '--kubeconfig', kubeconfigPath, '--admin-port', '0', '--admin-host', '127.0.0.1', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...env },
  });
  running.add(child);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    running.delete(child);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const adminPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`controller did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const onData = (): void => {
        for (const line of out.split('\n')) {
          if (!line.includes('gatehouse controller started')) continue;
          const parsed = startedLine.safeParse(JSON.parse(line));
          if (!parsed.success) continue;
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve(parsed.data.adminPort);
          return;
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`controller exited early with ${code}:\n${out}`));
      });
    });
    return { child, pid: child.pid ?? 0, adminPort, logs: () => out, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

const debugTableSchema = z.object({
  version: z.string(),
  sequence: z.number().int(),
  leader: z.boolean(),
  table: z.object({
    version: z.string(),
    routes: z.array(z.looseObject({ id: z.string(), source: z.object({ namespace: z.string(), name: z.string() }) })),
    backends: z.array(z.looseObject({ id: z.string(), endpoints: z.array(z.object({ host: z.string(), port: z.number() })) })),
  }),
  statuses: z.array(z.looseObject({ kind: z.string(), namespace: z.string(), name: z.string() })),
});
export type DebugTable = z.output<typeof debugTableSchema>;

/** The controller's current table, or undefined before its first compile. */
export async function debugTable(adminPort: number): Promise<DebugTable | undefined> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/debug/table`, { signal: AbortSignal.timeout(5_000) });
  if (res.status === 503) return undefined;
  if (!res.ok) throw new Error(`/debug/table answered ${res.status}`);
  return debugTableSchema.parse(await res.json());
}

export async function adminGet(adminPort: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

/** Poll until `check` returns a value (not undefined) or the time runs out. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

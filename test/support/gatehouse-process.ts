// Runs the real `gatehouse` CLI as a child process for end-to-end tests, and always stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../cli/gatehouse.ts', import.meta.url));

export interface GatehouseProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  stderr: () => string;
  stdout: () => string;
  stop: () => Promise<void>;
}

/** Start `gatehouse standalone` on free ports and resolve once it logs that it is ready. */
export async function startStandalone(configDir: string, extraArgs: string[] = [], timeoutMs = 15_000): Promise<GatehouseProcess> {
  const child = spawn(process.execPath, [CLI, 'standalone', '--config', configDir, '--port', '0', '--admin-port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const ready = await new Promise<{ port: number; adminPort: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gatehouse did not become ready in ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
      const onData = (): void => {
        for (const line of out.split('\n')) {
          if (!line.includes('gatehouse standalone ready')) continue;
          const rec = JSON.parse(line) as { port: number; adminPort: number };
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve(rec);
          return;
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`gatehouse exited early with ${code}\nstdout:\n${out}\nstderr:\n${err}`));
      });
    });
    return { child, ...ready, stderr: () => err, stdout: () => out, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Run a CLI command to completion and return its exit code and output. */
export async function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Poll until `check` returns true or the time runs out (bounded in count and time). */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

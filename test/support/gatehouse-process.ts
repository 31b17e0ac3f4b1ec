// Runs the real `gatehouse` CLI as a child process for end-to-end tests, and always stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { startCliProcess } from './cli-process.ts';

const CLI = fileURLToPath(new URL('../../cli/gatehouse.ts', import.meta.url));

export interface GatehouseProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  stderr: () => string;
  stdout: () => string;
  stop: () => Promise<void>;
}

const readyLine = z.object({ msg: z.literal('gatehouse standalone ready'), port: z.number().int(), adminPort: z.number().int() });

/** Start `gatehouse standalone` on free ports and resolve once it logs that it is ready. */
export async function startStandalone(configDir: string, extraArgs: string[] = [], timeoutMs = 60_000): Promise<GatehouseProcess> {
  const p = await startCliProcess({
    args: ['standalone', '--config', configDir, '--port', '0', '--admin-port', '0', ...extraArgs],
    marker: 'gatehouse standalone ready',
    schema: readyLine,
    what: 'gatehouse standalone',
    timeoutMs,
    env: { LOG_LEVEL: 'info' },
  });
  return { child: p.child, port: p.started.port, adminPort: p.started.adminPort, stderr: p.stderr, stdout: p.stdout, stop: () => p.stop() };
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

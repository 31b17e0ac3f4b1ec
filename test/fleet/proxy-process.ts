// Runs the real `gatehouse proxy` as a child process and reads its ports from its start line. stop() always ends
// it (SIGTERM, then SIGKILL, by pid), and so does this process exiting.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { send } from '../e2e/helpers/http-client.ts';

const CLI = fileURLToPath(new URL('../../cli/gatehouse.ts', import.meta.url));

export interface ProxyProcess {
  name: string;
  pid: number;
  port: number;
  adminPort: number;
  logs: () => string;
  /** SIGTERM then SIGKILL; `kill9` skips the grace. */
  stop: (kill9?: boolean) => Promise<void>;
}

const startedLine = z.object({ msg: z.literal('gatehouse proxy started'), port: z.number().int(), adminPort: z.number().int() });

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export async function startProxyProcess(name: string, args: string[], timeoutMs = 20_000): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [CLI, 'proxy', '--name', name, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  running.add(child);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
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
    const ports = await new Promise<{ port: number; adminPort: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`proxy ${name} did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const onData = (): void => {
        for (const line of out.split('\n')) {
          if (!line.includes('gatehouse proxy started')) continue;
          const parsed = startedLine.safeParse(JSON.parse(line));
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
        reject(new Error(`proxy ${name} exited early with ${code}:\n${out}`));
      });
    });
    return { name, pid: child.pid ?? 0, ...ports, logs: () => out, stop };
  } catch (e) {
    await stop(true);
    throw e;
  }
}

/** GET through a proxy's traffic port with a Host header (status 0 when it does not answer). */
export async function getThrough(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  try {
    const reply = await send(port, path, { headers: { host }, timeoutMs: 5_000 });
    return { status: reply.status, body: reply.body };
  } catch {
    return { status: 0, body: '' };
  }
}

/** A counter's value from a proxy's /metrics (0 when absent). */
export async function metricValue(adminPort: number, series: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

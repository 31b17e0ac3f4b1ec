// Runs the real `gatehouse proxy` as a child process and reads its ports from its start line. stop() always ends
// it (SIGTERM, then SIGKILL, by pid), and so does this process exiting.
import { z } from 'zod';
import { send } from '../e2e/helpers/http-client.ts';
import { startCliProcess } from '../support/cli-process.ts';

export interface ProxyProcess {
  name: string;
  pid: number;
  port: number;
  /** The HTTPS port (null without --https-port). */
  httpsPort: number | null;
  adminPort: number;
  logs: () => string;
  /** SIGTERM then SIGKILL; `kill9` skips the grace. */
  stop: (kill9?: boolean) => Promise<void>;
  /** How it ended ('SIGKILL', an exit code), or null while it runs. */
  exited: () => string | null;
}

const startedLine = z.object({ msg: z.literal('gatehouse proxy started'), port: z.number().int(), httpsPort: z.number().int().nullable(), adminPort: z.number().int() });

/**
 * `--shutdown-delay 0s` unless `args` give one (the last wins): no balancer is in front of these, and stop()'s SIGTERM
 * would otherwise wait out the 5 s default.
 */
export async function startProxyProcess(name: string, args: string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv, entry?: string): Promise<ProxyProcess> {
  const p = await startCliProcess({
    ...(env && { env }),
    ...(entry && { entry }),
    args: ['proxy', '--name', name, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--shutdown-delay', '0s', ...args],
    marker: 'gatehouse proxy started',
    schema: startedLine,
    what: `proxy ${name}`,
    timeoutMs,
  });
  const exited = (): string | null => p.child.signalCode ?? (p.child.exitCode === null ? null : String(p.child.exitCode));
  return { name, pid: p.pid, port: p.started.port, httpsPort: p.started.httpsPort, adminPort: p.started.adminPort, logs: p.logs, stop: p.stop, exited };
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
  return (await metricValues(adminPort, [series]))[0] as number;
}

/** Several series from one scrape (0 for an absent one): values set together are read together. */
export async function metricValues(adminPort: number, series: readonly string[]): Promise<number[]> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const lines = (await res.text()).split('\n');
  return series.map((s) => {
    const line = lines.find((l) => l.startsWith(`${s} `));
    return line === undefined ? 0 : Number(line.slice(s.length + 1));
  });
}

// Debian's haproxy as a loopback load balancer in front of gateways, run as our own child in the foreground (-db)
// from a config in its own temp dir, with an admin socket there to read each server's state:
//
//   const lb = await startHaproxy({ servers: [{ name: 'p0', port, checkPort: adminPort }, …] });
//   t.after(() => lb.close());                   // SIGKILL by pid, remove the dir
//   await lb.serverStates();                      // Map { 'p0' => 'UP', 'p1' => 'DOWN', … }
//
// Active health checks GET each server's /readyz on its check port every 100 ms (one failure marks it DOWN, one
// success UP); passive ones mark a server DOWN at its first connection error or 5xx. With `retries` (the default),
// a request that found no connection, an empty response or no response in time is retried on another server.
// haproxy runs as a child of this process: killed by its pid on close(), and on this process' exit (exit-reaper.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapOnExit, releaseOnExit } from './exit-reaper.ts';
import { freeLoopbackPort } from './free-port.ts';

/** Where Debian puts it (/usr/sbin, which a non-root PATH may lack), else the PATH. Installed by .ci/run. */
export function haproxyBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/bin/haproxy']) if (existsSync(candidate)) return candidate;
  return undefined;
}

export interface HaproxyServer {
  /** Its name in the stats and in the x-served-by response header. */
  name: string;
  port: number;
  /** Where /readyz answers (the gateway's admin port). */
  checkPort: number;
}

export interface HaproxyOptions {
  servers: HaproxyServer[];
  /** retry-on conn-failure empty-response response-timeout, 3 retries, redispatch to another server. Default true. */
  retries?: boolean;
  startTimeoutMs?: number;
}

export interface Haproxy {
  /** The frontend's port on 127.0.0.1. */
  readonly port: number;
  readonly pid: number;
  /** Server name → status as the stats report it: UP, DOWN, "UP 1/2" (going down), "DOWN 1/2" (coming up), MAINT… */
  serverStates(): Promise<Map<string, string>>;
  /** haproxy's own log (state changes and alerts), the tail. */
  logs(): string;
  close(): Promise<void>;
}

export function haproxyConfig(dir: string, port: number, opts: HaproxyOptions): string {
  const retries = opts.retries ?? true;
  return `global
  stats socket ${join(dir, 'admin.sock')} mode 600 level admin
  log stderr format raw local0 notice
  nbthread 1
  maxconn 2000

defaults
  mode http
  log global
  timeout connect 1s
  timeout client 30s
  timeout server 10s
  timeout check 1s
${retries ? '  retries 3\n  option redispatch 1\n  retry-on conn-failure empty-response response-timeout\n' : '  retries 0\n'}
frontend gateways
  bind 127.0.0.1:${port}
  default_backend gatehouse

backend gatehouse
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  http-response set-header x-served-by %s
  default-server inter 100ms fastinter 100ms downinter 100ms fall 1 rise 1 observe layer7 error-limit 1 on-error mark-down
${opts.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} check port ${s.checkPort}`).join('\n')}
`;
}

export async function startHaproxy(opts: HaproxyOptions): Promise<Haproxy> {
  const bin = haproxyBinary();
  if (bin === undefined) throw new Error('haproxy is not installed (apt-get install haproxy; .ci/run does)');
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-haproxy-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort(new Set(opts.servers.flatMap((s) => [s.port, s.checkPort])));
    try {
      return await startOnce(bin, dir, port, opts);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(bin: string, dir: string, port: number, opts: HaproxyOptions): Promise<Haproxy> {
  const config = join(dir, 'haproxy.cfg');
  await writeFile(config, haproxyConfig(dir, port, opts));
  const child: ChildProcess = spawn(bin, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-16_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('error', (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<void>((resolve) => (running() ? child.once('exit', () => resolve()) : resolve()));
  const handle = {
    killNow: (): void => {
      if (running()) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  reapOnExit(handle);
  const socket = join(dir, 'admin.sock');
  const stop = async (): Promise<void> => {
    if (running()) child.kill('SIGKILL');
    await exited;
  };
  const serverStates = async (): Promise<Map<string, string>> => parseServerStates(await adminCommand(socket, 'show stat gatehouse 4 -1'));

  // Up once the admin socket lists every server; bounded in time and count.
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  let last: string;
  for (let i = 0; ; i++) {
    if (!running()) {
      await stop();
      releaseOnExit(handle);
      if (/cannot bind socket|Address already in use/i.test(log)) throw new PortTakenError(`port ${port} taken`);
      throw new Error(`haproxy exited early (${child.exitCode ?? child.signalCode}):\n${log}`);
    }
    try {
      const states = await serverStates();
      if (states.size === opts.servers.length) break;
      last = JSON.stringify([...states]);
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline || i >= 1_000) {
      await stop();
      releaseOnExit(handle);
      throw new Error(`haproxy did not list its servers on its admin socket in time (last: ${last}):\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    pid: child.pid ?? 0,
    serverStates,
    logs: () => log,
    close: async () => {
      await stop();
      releaseOnExit(handle);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One command on the admin socket; haproxy answers and closes (non-interactive mode). */
function adminCommand(path: string, command: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let out = '';
    socket.setEncoding('utf8').on('data', (d: string) => (out += d));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to "${command}" in ${timeoutMs} ms`)));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\n`));
    socket.once('close', () => resolve(out));
  });
}

/** `show stat` CSV → server name → status. */
function parseServerStates(csv: string): Map<string, string> {
  const [header, ...rows] = csv.split('\n').filter((l) => l.trim() !== '');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const name = columns.indexOf('svname');
  const status = columns.indexOf('status');
  const states = new Map<string, string>();
  if (name < 0 || status < 0) return states;
  for (const row of rows) {
    const cells = row.split(',');
    states.set(cells[name] ?? '', cells[status] ?? '');
  }
  return states;
}

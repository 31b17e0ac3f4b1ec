// Real redis-server processes for tests: a standalone server or a Cluster of masters on free loopback ports, each
// with its own temp dir, no persistence. One per test file (or per test), always stopped:
//
//   const redis = await startRedisServer({ password });      // redis.url, redis.port
//   t.after(() => redis.close());                            // kill by pid, remove the temp dir
//   await redis.stop(); await redis.restart();               // the same port again, empty (failure/recovery tests)
//   const cluster = await startRedisCluster(3);              // cluster.seeds: ["127.0.0.1:p1", …]
//   after(() => cluster.close());
//
// Processes are killed by their pid: by close(), on this process' exit or SIGINT/SIGTERM, and by a watchdog per
// process that SIGKILLs it (and removes the dir) if this Node process dies without any of those (SIGKILL, crash).
// Ports are picked at random below the kernel's ephemeral range (free-port.ts), so an outgoing connection cannot take
// a port between a stop and a restart; a start that loses a port race is retried.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapOnExit, releaseOnExit } from './exit-reaper.ts';
import { freeLoopbackPort } from './free-port.ts';

const HOST = '127.0.0.1';
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';

export interface RedisServerOptions {
  /** --requirepass (and --masterauth for a cluster). */
  password?: string;
  /** More redis-server arguments. */
  args?: string[];
  /** Bound on the start (process up and answering PING). */
  startTimeoutMs?: number;
  /** Serve TLS only (on `port`), with these PEM files; clients are not asked for certificates. */
  tls?: RedisTlsFiles;
}

export interface RedisTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** redis://127.0.0.1:port, rediss:// with tls (no password: tests pass it separately). */
  readonly url: string;
  readonly dir: string;
  /** The running process' pid; 0 while stopped. */
  pid(): number;
  /** SIGTERM, then SIGKILL after `graceMs`. The dir stays, for restart(). */
  stop(graceMs?: number): Promise<void>;
  /** Start again on the same port (empty: nothing is persisted) and wait for PING. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server holds its connections but answers nothing (a hung Redis). */
  pause(): void;
  resume(): void;
  /** Run redis-cli against it (authenticated when it has a password); resolves stdout. */
  cli(args: string[]): Promise<string>;
  /** The tail of its log. */
  logs(): string;
  /** stop() and remove the dir; safe to call twice. */
  close(): Promise<void>;
}

export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** "127.0.0.1:port" of every node. */
  readonly seeds: string[];
  close(): Promise<void>;
}

// ---- bookkeeping: everything started here dies with this process ----


function killPid(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined || pid === 0) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

function running(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `p` settles within `ms`; the timer is cleared either way, so it keeps nothing alive. */
async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- ports ----

/** A port in [10000, 32000) nobody listens on now (free-port.ts). */
export const freeRedisPort = freeLoopbackPort;

// ---- redis-cli ----

interface CliTarget {
  port: number;
  password?: string;
  tls?: RedisTlsFiles;
}

function runCli(target: CliTarget, args: string[], timeoutMs = 5_000): Promise<{ ok: boolean; out: string }> {
  const auth = target.password === undefined ? [] : ['-a', target.password, '--no-auth-warning'];
  const tls = target.tls === undefined ? [] : ['--tls', '--cacert', target.tls.caFile];
  return new Promise((resolve) => {
    execFile(REDIS_CLI, ['-h', HOST, '-p', String(target.port), ...tls, ...auth, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ ok: err === null, out: `${stdout}${stderr}` });
    });
  });
}

/** Poll `check` every `intervalMs` until it holds; bounded by `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: () => string, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await delay(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
}

// ---- TLS ----

/**
 * A self-signed certificate for 127.0.0.1 and localhost (its own CA) in a temp dir, made with the openssl CLI.
 * `close()` removes the dir.
 */
export async function createTlsFiles(): Promise<RedisTlsFiles & { certPem: string; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-redis-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile,
        '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'pipe', timeout: 10_000 },
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    certFile,
    keyFile,
    caFile: certFile,
    certPem: await readFile(certFile, 'utf8'),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---- one server ----

class PortTakenError extends Error {}

interface ServerSpec {
  port: number;
  dir: string;
  /** What the watchdog removes if this process dies unannounced ('' for nothing). */
  watchdogDir: string;
  password?: string;
  tls?: RedisTlsFiles;
  args: string[];
  startTimeoutMs: number;
}

function createServerHandle(spec: ServerSpec, ownsDir: boolean): RedisServer & { start(): Promise<void> } {
  let child: ChildProcess | undefined;
  let watchdog: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let closed = false;

  const handle = {
    killNow(): void {
      killPid(watchdog?.pid, 'SIGKILL');
      if (running(child)) killPid(child?.pid, 'SIGKILL');
      if (ownsDir) rmSync(spec.dir, { recursive: true, force: true });
    },
  };

  const args = (): string[] => [
    ...(spec.tls === undefined
      ? ['--port', String(spec.port)]
      : ['--port', '0', '--tls-port', String(spec.port), '--tls-cert-file', spec.tls.certFile, '--tls-key-file', spec.tls.keyFile,
         '--tls-ca-cert-file', spec.tls.caFile, '--tls-auth-clients', 'no']),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--dir', spec.dir,
    ...(spec.password === undefined ? [] : ['--requirepass', spec.password, '--masterauth', spec.password]),
    ...spec.args,
  ];

  const stop = async (graceMs = 3_000): Promise<void> => {
    killPid(watchdog?.pid, 'SIGKILL');
    watchdog = undefined;
    const c = child;
    if (c === undefined || !running(c)) return;
    killPid(c.pid, 'SIGCONT'); // a paused server cannot act on SIGTERM
    if (graceMs > 0) killPid(c.pid, 'SIGTERM');
    if (graceMs > 0 && (await within(exited, graceMs))) return;
    if (killPid(c.pid, 'SIGKILL')) await within(exited, 5_000);
  };

  const start = async (): Promise<void> => {
    if (closed) throw new Error('redis server already closed');
    reapOnExit(handle);
    log = '';
    const c = spawn(REDIS_SERVER, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const keep = (chunk: Buffer): void => {
      log = (log + chunk.toString()).slice(-8_000);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    c.once('error', (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
    exited = new Promise<void>((resolve) => {
      if (!running(c)) resolve();
      else c.once('exit', () => resolve());
    });
    // Watchdog: a shell blocked reading a pipe from us; when this process dies the pipe closes and it kills the
    // server and removes the dir. On a normal stop we kill it first.
    const script = 'read -r _; kill -9 "$1" 2>/dev/null; [ -z "$2" ] || rm -rf "$2"';
    const w = spawn('sh', ['-c', script, 'watchdog', String(c.pid ?? 0), spec.watchdogDir], { stdio: ['pipe', 'ignore', 'ignore'] });
    w.once('error', () => {});
    w.unref();
    (w.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    watchdog = w;
    c.unref();
    (c.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (c.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    try {
      await until(
        async () => {
          if (!running(c)) {
            if (/Address already in use/i.test(log)) throw new PortTakenError(`port ${spec.port} taken`);
            throw new Error(`redis-server exited early (${c.exitCode ?? c.signalCode}):\n${log}`);
          }
          const r = await runCli(spec, ['ping'], 1_000);
          return r.ok && r.out.trim() === 'PONG';
        },
        spec.startTimeoutMs,
        () => `redis-server on ${spec.port} to answer PING:\n${log}`,
      );
    } catch (err) {
      await stop(0);
      releaseOnExit(handle);
      throw err;
    }
  };

  return {
    host: HOST,
    port: spec.port,
    url: `${spec.tls === undefined ? 'redis' : 'rediss'}://${HOST}:${spec.port}`,
    dir: spec.dir,
    pid: () => (running(child) ? (child?.pid ?? 0) : 0),
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    pause: () => void (running(child) && killPid(child?.pid, 'SIGSTOP')),
    resume: () => void (running(child) && killPid(child?.pid, 'SIGCONT')),
    cli: async (cliArgs) => {
      const r = await runCli(spec, cliArgs);
      if (!r.ok) throw new Error(`redis-cli ${cliArgs.join(' ')} failed: ${r.out}`);
      return r.out;
    },
    logs: () => log,
    close: async () => {
      if (closed) return;
      closed = true;
      await stop(0);
      releaseOnExit(handle);
      if (ownsDir) await rm(spec.dir, { recursive: true, force: true });
    },
  };
}

/** A standalone redis-server on a free loopback port, answering PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-redis-'));
  for (let attempt = 1; ; attempt++) {
    const server = createServerHandle(
      { port: await freeRedisPort(), dir, watchdogDir: dir, password: options.password, tls: options.tls, args: options.args ?? [], startTimeoutMs: options.startTimeoutMs ?? 10_000 },
      true,
    );
    try {
      await server.start();
      return server;
    } catch (err) {
      if (err instanceof PortTakenError && attempt < 3) {
        await server.stop(0);
        continue;
      }
      await server.close(); // removes the dir
      throw err;
    }
  }
}

/**
 * `masters` redis-server nodes in cluster mode (no replicas), joined with `redis-cli --cluster create`, resolved once
 * every node reports cluster_state:ok and knows every node. Each node has its own bus port (--cluster-port).
 */
export async function startRedisCluster(masters = 3, options: RedisServerOptions = {}): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-redis-cluster-'));
  const nodes: (RedisServer & { start(): Promise<void> })[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.close()));
    releaseOnExit(dirHandle);
    await rm(dir, { recursive: true, force: true });
  };
  const dirHandle = { killNow: () => rmSync(dir, { recursive: true, force: true }) };
  reapOnExit(dirHandle);
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  try {
    const used = new Set<number>();
    for (let i = 0; i < masters; i++) {
      for (let attempt = 1; ; attempt++) {
        const port = await freeRedisPort(used);
        const busPort = await freeRedisPort(new Set([...used, port]));
        const nodeDir = join(dir, `node-${i}-${port}`);
        await mkdir(nodeDir);
        const node = createServerHandle(
          {
            port,
            dir: nodeDir,
            watchdogDir: dir,
            password: options.password,
            tls: options.tls,
            args: [
              '--cluster-enabled', 'yes',
              '--cluster-config-file', join(nodeDir, 'nodes.conf'),
              '--cluster-port', String(busPort),
              '--cluster-node-timeout', '2000',
              ...(options.args ?? []),
            ],
            startTimeoutMs: timeoutMs,
          },
          false, // the cluster's dir holds it
        );
        try {
          await node.start();
          used.add(port).add(busPort);
          nodes.push(node);
          break;
        } catch (err) {
          await node.close();
          if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
        }
      }
    }
    // Last in the exit handlers' order: the dir goes after the processes in it.
    releaseOnExit(dirHandle);
    reapOnExit(dirHandle);
    const seeds = nodes.map((n) => `${HOST}:${n.port}`);
    const created = await runCli({ port: nodes[0]?.port ?? 0, password: options.password, tls: options.tls }, ['--cluster', 'create', ...seeds, '--cluster-replicas', '0', '--cluster-yes'], timeoutMs);
    if (!created.ok) throw new Error(`redis-cli --cluster create failed:\n${created.out}`);
    let last = '';
    await until(
      async () => {
        for (const n of nodes) {
          const r = await runCli({ port: n.port, password: options.password, tls: options.tls }, ['cluster', 'info'], 1_000);
          last = `${n.port}: ${r.out}`;
          if (!r.ok || !r.out.includes('cluster_state:ok') || !r.out.includes(`cluster_known_nodes:${masters}`)) return false;
        }
        return true;
      },
      timeoutMs,
      () => `cluster_state:ok on every node; last:\n${last}`,
      50,
    );
    return { nodes, seeds, close };
  } catch (err) {
    await close();
    throw err;
  }
}

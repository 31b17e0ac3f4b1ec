// A real Kubernetes control plane for tests: etcd + kube-apiserver on free loopback ports, started the way
// controller-runtime's envtest does (pkg/internal/testing/controlplane), with the binaries that
// test/kube/ensure-binaries.sh builds from Go modules. One control plane per test file:
//
//   const cp = await startControlPlane();
//   t.after(() => cp.stop());
//   const { code, stdout, stderr } = await cp.kubectl(['apply', '-f', '-'], { stdin: yaml });
//
// The admin user authenticates with a static bearer token (--token-auth-file) in system:masters; the
// API server serves a self-signed certificate that the kubeconfig trusts. stop() kills both processes by
// pid and removes the temp dir; it also runs on process exit and SIGINT/SIGTERM, and a watchdog per
// process kills it if this Node process dies without either (SIGKILL, crash).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir, open } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { reapOnExit, releaseOnExit } from '../support/exit-reaper.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
const ENSURE_SCRIPT = 'test/kube/ensure-binaries.sh';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (use with `-f -`). */
  stdin?: string;
  /** Kill kubectl after this long; default 30 s. */
  timeoutMs?: number;
}

/** Milliseconds. etcd and the API server boot in parallel, so etcdMs and apiserverMs both count from the start. */
export interface StartupTimings {
  /** Start → etcd /health. */
  etcdMs: number;
  /** Start → kube-apiserver /readyz. */
  apiserverMs: number;
  /** Applying crds/ and waiting for Established. */
  crdsMs: number;
  totalMs: number;
}

export interface ControlPlane {
  /** Admin kubeconfig (bearer token in system:masters, the serving CA embedded). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** The admin's bearer token. */
  token: string;
  /** PEM of the CA that signed the API server's serving certificate. */
  caPem: string;
  etcdUrl: string;
  binDir: string;
  timings: StartupTimings;
  /** Run the built kubectl against this control plane. Never throws on a non-zero exit. */
  kubectl(args: string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** Kill etcd and the API server, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Apply crds/*.yaml and wait for Established; default true. */
  installCrds?: boolean;
  /** Appended to kube-apiserver's flags (a later flag wins). */
  apiserverArgs?: string[];
  /** Bound on the whole start; default 90 s. */
  startTimeoutMs?: number;
}

const BINARIES = ['kube-apiserver', 'kubectl', 'etcd'] as const;

/**
 * Where ensure-binaries.sh puts the binaries: GATEHOUSE_KUBE_BIN_DIR if set, else the cache dir keyed
 * by the same hash the script computes (its RECIPE, the platform, the tools modules' go.mod/go.sum).
 */
export function kubeBinDir(): string {
  const explicit = process.env.GATEHOUSE_KUBE_BIN_DIR;
  if (explicit) return explicit;
  const script = readFileSync(join(REPO_ROOT, ENSURE_SCRIPT), 'utf8');
  const recipe = /^RECIPE=(\d+)$/m.exec(script)?.[1];
  if (recipe === undefined) throw new Error(`${ENSURE_SCRIPT} has no RECIPE= line`);
  const goarch = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
  const hash = createHash('sha256');
  hash.update(`recipe=${recipe} ${process.platform}/${goarch}\n`);
  for (const mod of ['tools/kube', 'tools/kube/etcd', 'tools/kube/helm']) for (const file of [`${mod}/go.mod`, `${mod}/go.sum`]) {
    hash.update(readFileSync(join(REPO_ROOT, file)));
  }
  const cache = process.env.GATEHOUSE_KUBE_BIN_CACHE || join(homedir(), '.cache/gatehouse/kube-bin');
  return join(cache, hash.digest('hex').slice(0, 16));
}

/** Why the kube tests cannot run — binaries missing, and how to build them — or undefined when they can. */
export function kubeBinariesProblem(): string | undefined {
  const dir = kubeBinDir();
  const missing = BINARIES.filter((b) => !existsSync(join(dir, b)));
  if (missing.length === 0) return undefined;
  return (
    `kube test binaries missing (${missing.join(', ')}) in ${dir}.\n` +
    `Build them once (cached outside the work tree, keyed by tools/kube's go.sum; a cold build takes ` +
    `about 10 minutes on 2 cores, see test/kube/README.md):\n\n    bash ${ENSURE_SCRIPT}\n\n` +
    `or point GATEHOUSE_KUBE_BIN_DIR at a directory holding kube-apiserver, kubectl and etcd.`
  );
}

/** The binaries' directory, or an error that says how to build them (never a silent skip). */
export function requireKubeBinaries(): string {
  const problem = kubeBinariesProblem();
  if (problem !== undefined) throw new Error(problem);
  return kubeBinDir();
}

/** The built helm (optional: `bash test/kube/ensure-binaries.sh --helm`), or an error saying how to build it. */
export function requireHelm(): string {
  const helm = join(kubeBinDir(), 'helm');
  if (!existsSync(helm)) {
    throw new Error(`helm missing in ${kubeBinDir()}. Build it (tools/kube/helm, cached like the others):\n\n    bash ${ENSURE_SCRIPT} --helm\n`);
  }
  return helm;
}

// ---- process bookkeeping: everything started here is killed on stop, exit or signal ----

interface Managed {
  name: string;
  child: ChildProcess;
  watchdog: ChildProcess;
  exited: Promise<number | null>;
  logPath: string;
}


async function spawnManaged(name: string, bin: string, args: string[], logPath: string, dir: string): Promise<Managed> {
  const log = await open(logPath, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', log.fd, log.fd] });
  await log.close(); // the child holds its own descriptor
  const exited = new Promise<number | null>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res(child.exitCode);
    else child.once('exit', (code) => res(code));
  });
  child.once('error', () => {}); // reported through `exited` and the readiness wait
  // Watchdog: a shell blocked reading a pipe from us (the `read` builtin: one process); when this process dies
  // for any reason the pipe closes and it SIGKILLs the child and removes the temp dir. On a normal stop we
  // kill the watchdog first.
  const cleanup = process.env.GATEHOUSE_KUBE_KEEP ? '' : dir;
  const script = 'read -r _; kill -9 "$1" 2>/dev/null; [ -z "$2" ] || rm -rf "$2"';
  const watchdog = spawn('sh', ['-c', script, 'watchdog', String(child.pid ?? 0), cleanup], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.once('error', () => {});
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.(); // never keeps this process alive
  child.unref();
  return { name, child, watchdog, exited, logPath };
}

function killSync(m: Managed): void {
  for (const p of [m.watchdog, m.child]) {
    if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

async function terminate(m: Managed, graceMs: number): Promise<void> {
  if (m.watchdog.pid !== undefined && m.watchdog.exitCode === null) {
    try {
      process.kill(m.watchdog.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (m.child.exitCode !== null || m.child.signalCode !== null || m.child.pid === undefined) return;
  const pid = m.child.pid;
  const kill = (signal: NodeJS.Signals): boolean => {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false; // already gone
    }
  };
  if (graceMs > 0) {
    if (!kill('SIGTERM')) return;
    if (await Promise.race([m.exited.then(() => true), delay(graceMs).then(() => false)])) return;
  }
  if (kill('SIGKILL')) await Promise.race([m.exited, delay(5000)]);
}

// ---- helpers ----

function delay(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/**
 * A free loopback port for a server to bind a moment later. Picked at random *below* the kernel's ephemeral
 * range (32768+ on Linux): a port the kernel hands out for `listen(0)` can just as well be handed to some
 * outgoing connection (kubectl, the API server's etcd client) before the server binds it. What remains (two
 * test files picking the same port) is rare, and the start is retried.
 */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    if (await canListen(port)) return port;
  }
  return listenPort(0);
}

function canListen(port: number): Promise<boolean> {
  return listenPort(port).then(
    () => true,
    () => false,
  );
}

function listenPort(port: number): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => res(bound));
    });
  });
}

async function tail(path: string, lines = 30): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** One GET; resolves with the status code (0 on a connection error). */
function probe(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((res) => {
    const u = new URL(url);
    const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(u, { method: 'GET', headers, rejectUnauthorized: false, timeout: timeoutMs }, (resp) => {
      let body = '';
      resp.setEncoding('utf8');
      resp.on('data', (c: string) => (body += c));
      resp.on('end', () => res({ status: resp.statusCode ?? 0, body }));
      resp.on('error', () => res({ status: 0, body: '' }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => res({ status: 0, body: '' }));
    req.end();
  });
}

/** Poll until `ok`, the process exits, or the deadline passes; errors carry the process log's tail. */
async function waitFor(m: Managed, what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  let exitCode: number | null | undefined;
  void m.exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) {
      const log = await tail(m.logPath);
      const message = `${m.name} exited (code ${exitCode}) before ${what}; log ${m.logPath}:\n${log}`;
      throw /address already in use/.test(log) ? new PortTakenError(message) : new Error(message);
    }
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ${m.name} log ${m.logPath}:\n${await tail(m.logPath)}`);
    await delay(50);
  }
}

export function runBinary(bin: string, args: string[], options: KubectlOptions & { env?: NodeJS.ProcessEnv } = {}): Promise<KubectlResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((res) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      res({ code: -1, stdout, stderr: stderr + String(err) });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      res({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
    child.stdin.on('error', () => {}); // kubectl may exit before reading everything
    child.stdin.end(options.stdin ?? '');
  });
}

// ---- the control plane ----

/** Thrown when a port picked as free was taken before the process bound it; the start is retried. */
class PortTakenError extends Error {}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = requireKubeBinaries();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binDir, options);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
      console.error(`[control-plane] ${err.message.split('\n')[0]}; retrying with other ports`);
    }
  }
}

async function startOnce(binDir: string, options: ControlPlaneOptions): Promise<ControlPlane> {
  const started = performance.now();
  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-kube-'));
  const managed: Managed[] = [];
  let stopped = false;

  const handle = {
    killNow(): void {
      for (const m of managed) killSync(m);
      if (!process.env.GATEHOUSE_KUBE_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
  reapOnExit(handle);

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // SIGKILL, API server first: a graceful API server shutdown costs over a second and keeps nothing,
    // since the etcd data dir is deleted right after.
    for (const m of [...managed].reverse()) await terminate(m, 0);
    releaseOnExit(handle);
    if (process.env.GATEHOUSE_KUBE_KEEP) console.error(`[control-plane] kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  };

  try {
    // etcd
    const etcdPort = await freePort();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = await spawnManaged(
      'etcd',
      join(binDir, 'etcd'),
      [
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        '--listen-peer-urls=http://127.0.0.1:0',
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
      dir,
    );
    managed.push(etcd);

    // While etcd starts: the API server's keys, token file and flags.
    const certDir = join(dir, 'certs');
    await mkdir(certDir);
    const saKey = join(certDir, 'sa-signer.key');
    const saPub = join(certDir, 'sa-signer.pub');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(saKey, privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
    await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    const token = randomBytes(24).toString('hex');
    await writeFile(join(certDir, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });

    // kube-apiserver
    const securePort = await freePort();
    const server = `https://127.0.0.1:${securePort}`;
    const apiserver = await spawnManaged(
      'kube-apiserver',
      join(binDir, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${securePort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // Since 1.37 a loopback advertise address is refused by the endpoint reconciler (it would publish
        // 127.0.0.1 as the `kubernetes` Service's endpoint); nothing in these tests reads that Service.
        '--endpoint-reconciler-type=none',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        // No controller-manager creates default ServiceAccounts here.
        '--disable-admission-plugins=ServiceAccount',
        '--authorization-mode=RBAC',
        `--token-auth-file=${join(certDir, 'tokens.csv')}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        ...(options.apiserverArgs ?? []),
      ],
      join(dir, 'kube-apiserver.log'),
      dir,
    );
    managed.push(apiserver);
    // Started without waiting for etcd: the API server retries its etcd connection, and both boot in parallel.
    await waitFor(etcd, 'etcd /health', deadline, async () => {
      const r = await probe(`${etcdUrl}/health`, {}, 1000);
      return r.status === 200 && r.body.includes('"health":"true"');
    });
    const etcdReady = performance.now();

    const auth = { Authorization: `Bearer ${token}` };
    await waitFor(apiserver, 'kube-apiserver /readyz', deadline, async () => (await probe(`${server}/readyz`, auth, 2000)).status === 200);
    const apiserverReady = performance.now();

    // The self-signed serving certificate (and its CA) the API server wrote into --cert-dir.
    const caPem = await readFile(join(certDir, 'apiserver.crt'), 'utf8');
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig(server, caPem, token), { mode: 0o600 });

    const kubectlBin = join(binDir, 'kubectl');
    const kubectlEnv: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfigPath };
    delete kubectlEnv.KUBERNETES_SERVICE_HOST;
    const kubectl = (args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> =>
      runBinary(kubectlBin, [`--kubeconfig=${kubeconfigPath}`, `--cache-dir=${join(dir, 'kubectl-cache')}`, ...args], {
        ...opts,
        env: kubectlEnv,
      });

    if (options.installCrds ?? true) {
      const left = () => Math.max(1000, deadline - Date.now());
      const applied = await kubectl(['apply', '-f', join(REPO_ROOT, 'crds')], { timeoutMs: left() });
      if (applied.code !== 0) throw new Error(`kubectl apply -f crds/ failed (exit ${applied.code}):\n${applied.stderr}${applied.stdout}`);
      const seconds = Math.max(1, Math.floor(left() / 1000));
      const waited = await kubectl(['wait', '--for=condition=Established', '-f', join(REPO_ROOT, 'crds'), `--timeout=${seconds}s`], {
        timeoutMs: left() + 2000,
      });
      if (waited.code !== 0) throw new Error(`CRDs not Established (exit ${waited.code}):\n${waited.stderr}${waited.stdout}`);
    }
    const crdsDone = performance.now();

    return {
      kubeconfigPath,
      server,
      token,
      caPem,
      etcdUrl,
      binDir,
      timings: {
        etcdMs: Math.round(etcdReady - started),
        apiserverMs: Math.round(apiserverReady - started),
        crdsMs: Math.round(crdsDone - apiserverReady),
        totalMs: Math.round(crdsDone - started),
      },
      kubectl,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function kubeconfig(server: string, caPem: string, token: string): string {
  // JSON is YAML; kubectl and @kubernetes/client-node both read it.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'gatehouse-test', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'gatehouse-test', context: { cluster: 'gatehouse-test', user: 'admin', namespace: 'default' } }],
      'current-context': 'gatehouse-test',
    },
    null,
    2,
  );
}

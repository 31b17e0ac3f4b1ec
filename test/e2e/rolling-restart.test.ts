// Zero-downtime rolling restarts: three `gatehouse standalone` processes with the same manifests behind haproxy
// (test/support/haproxy.ts: active checks on each one's /readyz every 100 ms, passive checks on traffic), a real
// upstream, and a load generator sending GETs through haproxy without pause. The gateways are restarted one by one
// (SIGTERM, exit 0, a new process on the same ports, haproxy sees it UP, it serves, next). Every request must be
// answered 200 by the upstream, and every gateway, old and new, must have served.
//
// Twice: with haproxy retrying requests that found no connection or no response (how a balancer is usually set up),
// and with no retries at all, where nothing but the gateways' shutdown (readiness failed for --shutdown-delay while
// still serving, then the drain) keeps requests from failing. With --shutdown-delay 0s the second run fails.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandalone, type GatehouseProcess } from '../support/gatehouse-process.ts';
import { freeLoopbackPort } from '../support/free-port.ts';
import { haproxyBinary, startHaproxy, type Haproxy } from '../support/haproxy.ts';
import { startUpstream } from './helpers/upstreams.ts';
import { untilSeen as until } from '../support/wait-for.ts';

const UPSTREAM_BODY = 'ok from the upstream';
/**
 * Long enough for haproxy (checks every 100 ms, DOWN at the first failure) to stop sending before the listener
 * closes, with room for a busy machine.
 */
const SHUTDOWN_DELAY = '1.5s';
const LOOPS = 4;
/** Bounds on the load, whatever happens: requests and time. */
const MAX_REQUESTS = 200_000;
const MAX_LOAD_MS = 120_000;

const missing = haproxyBinary() === undefined ? 'haproxy is not installed: apt-get install haproxy (.ci/run installs it)' : undefined;

test('haproxy is installed', () => {
  if (missing !== undefined) assert.fail(missing);
});

interface Failure {
  at: number;
  status: number;
  servedBy: string | null;
  error: string;
}

/** GET loops through the balancer, each on its own keep-alive connection, until stopped or a bound is reached. */
class LoadGenerator {
  sent = 0;
  ok = 0;
  readonly failures: Failure[] = [];
  readonly byServer = new Map<string, number>();
  readonly #agents: Agent[] = [];
  readonly #loops: Promise<void>[] = [];
  readonly #startedAt = Date.now();
  #stopped = false;

  constructor(port: number, loops: number) {
    for (let i = 0; i < loops; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.#agents.push(agent);
      this.#loops.push(this.#loop(port, agent, i));
    }
  }

  async #loop(port: number, agent: Agent, loop: number): Promise<void> {
    for (let n = 0; !this.#stopped && this.sent < MAX_REQUESTS && Date.now() - this.#startedAt < MAX_LOAD_MS; n++) {
      this.sent++;
      // Some requests take a while, so some are in flight whenever a gateway stops accepting.
      const ms = (n + loop) % 5 === 0 ? 40 : 0;
      const answer = await get(port, `/work?ms=${ms}`, agent);
      if (answer.servedBy !== null) this.byServer.set(answer.servedBy, (this.byServer.get(answer.servedBy) ?? 0) + 1);
      if (answer.status === 200 && answer.body === UPSTREAM_BODY) this.ok++;
      else this.failures.push({ at: Date.now() - this.#startedAt, status: answer.status, servedBy: answer.servedBy, error: answer.error ?? answer.body.slice(0, 200) });
    }
  }

  served(server: string): number {
    return this.byServer.get(server) ?? 0;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
    for (const agent of this.#agents) agent.destroy();
  }
}

interface Answer {
  status: number;
  servedBy: string | null;
  body: string;
  error?: string;
}

/** One GET; a socket error or a timeout is an answer with status 0. */
function get(port: number, path: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      const servedBy = typeof res.headers['x-served-by'] === 'string' ? res.headers['x-served-by'] : null;
      res.on('error', (err) => resolve({ status: 0, servedBy, body, error: err.message }));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, servedBy, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', (err) => resolve({ status: 0, servedBy: null, body: '', error: err.message }));
    req.end();
  });
}

interface Slot {
  name: string;
  port: number;
  adminPort: number;
  process: GatehouseProcess;
}

async function rollingRestart(t: TestContext, retries: boolean): Promise<void> {
  const upstream = await startUpstream('upstream', (req, res) => {
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
    req.resume();
    const answer = (): void => void res.writeHead(200, { 'content-type': 'text/plain' }).end(UPSTREAM_BODY);
    if (ms > 0) setTimeout(answer, ms);
    else answer();
  });
  t.after(() => upstream.close());
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-rolling-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'route.yaml'),
    `apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata: { name: work, namespace: default }
spec:
  rules:
    - matches: [{ path: { type: Prefix, value: /work } }]
      backends: [{ url: "http://127.0.0.1:${upstream.port}" }]
`,
  );

  const used = new Set<number>();
  const port = async (): Promise<number> => {
    const p = await freeLoopbackPort(used);
    used.add(p);
    return p;
  };
  const start = (name: string, p: number, adminPort: number): Promise<GatehouseProcess> =>
    startStandalone(dir, ['--port', String(p), '--admin-port', String(adminPort), '--shutdown-delay', SHUTDOWN_DELAY, '--shutdown-timeout', '5s', '--access-log-sample', '0'], 20_000).then((g) => {
      t.after(() => g.stop()); // by its pid; nothing to do once it has exited
      return g;
    });
  const slots: Slot[] = [];
  for (const name of ['p0', 'p1', 'p2']) {
    const [p, adminPort] = [await port(), await port()];
    slots.push({ name, port: p, adminPort, process: await start(name, p, adminPort) });
  }

  const lb: Haproxy = await startHaproxy({ servers: slots.map((s) => ({ name: s.name, port: s.port, checkPort: s.adminPort })), retries });
  t.after(() => lb.close());
  let states = new Map<string, string>();
  const allUp = async (): Promise<boolean> => [...(states = await lb.serverStates()).values()].every((s) => s === 'UP');
  await until('haproxy to see every gateway UP', allUp, () => JSON.stringify([...states]));

  const load = new LoadGenerator(lb.port, LOOPS);
  t.after(() => load.stop());
  await until('every gateway to serve a while', () => slots.every((s) => load.served(s.name) >= 50), () => JSON.stringify([...load.byServer]));

  const restarts: Array<{ name: string; downBeforeDrain: boolean; downMs: number; exitMs: number; servedByOld: number }> = [];
  for (const slot of slots) {
    const old = slot.process;
    const exited = once(old.child, 'exit') as Promise<[number | null, string | null]>;
    const signalledAt = Date.now();
    old.child.kill('SIGTERM');
    // haproxy must take it out on its failing readiness while it still accepts: during the delay, before the drain.
    let state = '';
    await until(`haproxy to mark ${slot.name} down`, async () => !(state = (await lb.serverStates()).get(slot.name) ?? '').startsWith('UP'), () => state, 5_000);
    const downMs = Date.now() - signalledAt;
    const downBeforeDrain = !old.stdout().includes('"phase":"drain"');
    const [code, signal] = await exited;
    assert.equal(code, 0, `${slot.name} exited ${code ?? signal}:\n${old.stdout().split('\n').filter((l) => l.includes('"phase"')).join('\n')}`);
    const exitMs = Date.now() - signalledAt;
    const servedByOld = load.served(slot.name);

    slot.process = await start(slot.name, slot.port, slot.adminPort);
    await until(`haproxy to see the new ${slot.name} UP`, async () => (state = (await lb.serverStates()).get(slot.name) ?? '') === 'UP', () => state);
    await until(`the new ${slot.name} to serve`, () => load.served(slot.name) > servedByOld, () => JSON.stringify([...load.byServer]));
    restarts.push({ name: slot.name, downBeforeDrain, downMs, exitMs, servedByOld });
  }
  await until('more load on the new gateways', () => slots.every((s) => load.served(s.name) > (restarts.find((r) => r.name === s.name)?.servedByOld ?? 0) + 50), () => JSON.stringify([...load.byServer]));
  await load.stop();

  // Per gateway: requests the first process served, and the process that replaced it.
  const served = Object.fromEntries(restarts.map((r) => [r.name, { old: r.servedByOld, new: load.served(r.name) - r.servedByOld }]));
  const report = { retries, sent: load.sent, ok: load.ok, failed: load.failures.length, served, restarts, firstFailures: load.failures.slice(0, 5) };
  t.diagnostic(JSON.stringify(report));
  assert.deepEqual(load.failures.slice(0, 10), [], `${load.failures.length} of ${load.sent} requests failed; haproxy:\n${lb.logs()}`);
  assert.equal(load.ok, load.sent);
  assert.ok(load.sent >= 500, `enough load to mean something (${load.sent})`);
  for (const [name, counts] of Object.entries(served)) assert.ok(counts.old > 0 && counts.new > 0, `${name}: both processes served (${JSON.stringify(counts)})`);
  for (const r of restarts) assert.ok(r.downBeforeDrain, `haproxy took ${r.name} out before its listener closed (${JSON.stringify(r)})`);
}

test('rolling restart behind haproxy with retries: zero failed requests', { skip: missing }, async (t) => {
  await rollingRestart(t, true);
});

test('rolling restart behind haproxy without retries: zero failed requests from the shutdown alone', { skip: missing }, async (t) => {
  await rollingRestart(t, false);
});

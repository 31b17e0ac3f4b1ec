// Programmed across controller replicas, with real processes: two `gatehouse controller` replicas (ctrl-a leads,
// ctrl-b does not) on a real API server, five `gatehouse proxy` processes split between them — a1, a2 on ctrl-a;
// b1 and b-small (which refuses tables of more than 2 routes) on ctrl-b; b-both through a "Service" relay that
// prefers ctrl-b and falls back to ctrl-a. The leader's Programmed condition counts all five; b-small's NACK, on the
// non-leader, shows on the status; heartbeats cause no status writes; a third replica stopped gracefully takes its
// proxy out of the count at once; ctrl-b killed with -9 → b-both moves to ctrl-a, b1 and b-small drop out of the count
// once ctrl-b's report is stale. The fleet metrics on /metrics follow each step. Every process is stopped by pid,
// pass or fail.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { z } from 'zod';
import { freePort } from '../../bench/ports.ts';
import { startEcho, type Upstream } from '../e2e/helpers/upstreams.ts';
import { getThrough, metricValue, startProxyProcess, type ProxyProcess } from '../fleet/proxy-process.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { adminGet, startController, type ControllerProcess } from './controller-process.ts';
import { startServiceRelay } from './service-relay.ts';
import { waitFor } from '../support/wait-for.ts';

const TOKEN = 'fleet-replicas-token-4e3d2c1b0a';
/** The Lease duration, which is also the window after which a silent replica's proxies stop counting. */
const LEASE_S = 3;

let cp: ControlPlane;
let dir: string;
let echo: Upstream;
let relay: { port: number; close: () => void } | undefined;
const controllers = new Map<string, ControllerProcess>();
const streamPorts = new Map<string, number>();
const proxies = new Map<string, ProxyProcess>();

const fleetPage = z.object({
  replica: z.string(),
  leader: z.boolean(),
  proxies: z.array(z.object({ name: z.string() })),
  fleet: z.object({
    replicas: z.array(z.object({ replica: z.string(), fresh: z.boolean(), proxies: z.number() })),
    counted: z.array(z.object({ name: z.string(), replica: z.string(), current: z.boolean() })),
  }),
});

async function fleetOf(name: string): Promise<z.output<typeof fleetPage>> {
  return fleetPage.parse(JSON.parse((await adminGet(controllers.get(name)!.adminPort, '/debug/fleet')).body));
}

/** `fresh=… stale=… proxies=… failures=…`: the other replicas and their proxies as this replica's /metrics counts them. */
async function fleetMetrics(name: string): Promise<string> {
  const port = controllers.get(name)!.adminPort;
  const [fresh, stale, proxies, failures] = await Promise.all([
    metricValue(port, 'gatehouse_controller_fleet_replicas{state="fresh"}'),
    metricValue(port, 'gatehouse_controller_fleet_replicas{state="stale"}'),
    metricValue(port, 'gatehouse_controller_fleet_remote_proxies'),
    metricValue(port, 'gatehouse_controller_fleet_publish_failures_total'),
  ]);
  return `fresh=${fresh} stale=${stale} proxies=${proxies} failures=${failures}`;
}

async function startReplica(name: string): Promise<void> {
  const port = await freePort();
  streamPorts.set(name, port);
  controllers.set(name, await startController(cp.kubeconfigPath, [
    '--lease-duration', `${LEASE_S}s`, '--identity', name,
    '--stream-port', String(port), '--stream-host', '127.0.0.1', '--stream-token-file', join(dir, 'token'),
  ]));
}

async function startFleetProxy(name: string, port: number, extra: string[] = []): Promise<void> {
  proxies.set(name, await startProxyProcess(name, ['--controller', `ws://127.0.0.1:${port}`, '--token-file', join(dir, 'token'), '--table-file', join(dir, `${name}.json`), ...extra]));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-fleet-replicas-'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  echo = await startEcho('a');
  cp = await startControlPlane();
  await startReplica('ctrl-a');
  await waitFor('ctrl-a leads', async () => ((await fleetOf('ctrl-a')).leader ? true : undefined), 20_000);
  await startReplica('ctrl-b');
  relay = await startServiceRelay([streamPorts.get('ctrl-b')!, streamPorts.get('ctrl-a')!]);
  await Promise.all([
    startFleetProxy('a1', streamPorts.get('ctrl-a')!),
    startFleetProxy('a2', streamPorts.get('ctrl-a')!),
    startFleetProxy('b1', streamPorts.get('ctrl-b')!),
    startFleetProxy('b-small', streamPorts.get('ctrl-b')!, ['--max-routes', '2']),
    startFleetProxy('b-both', relay.port),
  ]);
});

after(async () => {
  await Promise.allSettled([...proxies.values()].map((p) => p.stop(true)));
  relay?.close();
  await Promise.allSettled([...controllers.values()].map((c) => c.stop()));
  await cp?.stop();
  await echo?.close();
  await rm(dir, { recursive: true, force: true });
});

async function apply(name: string): Promise<void> {
  const body = { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'ApiRoute', metadata: { name, namespace: 'default' }, spec: { hosts: [`${name}.example.com`], rules: [{ backends: [{ url: `http://127.0.0.1:${echo.port}` }] }] } };
  const r = await cp.kubectl(['apply', '-f', '-'], { stdin: stringify(body) });
  assert.equal(r.code, 0, r.stderr);
}

async function routeState(name: string): Promise<{ resourceVersion: string; programmed: { status: string; reason: string; message: string } | undefined } | undefined> {
  const r = await cp.kubectl(['get', 'apiroute', name, '-n', 'default', '-o', 'json']);
  if (r.code !== 0) return undefined;
  const obj = JSON.parse(r.stdout) as { metadata: { resourceVersion: string }; status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } };
  return { resourceVersion: obj.metadata.resourceVersion, programmed: obj.status?.conditions?.find((c) => c.type === 'Programmed') };
}

async function programmedMessage(name: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return waitFor(`Programmed on ${name} matching ${pattern}`, async () => {
    const message = (await routeState(name))?.programmed?.message;
    return message !== undefined && pattern.test(message) ? message : undefined;
  }, timeoutMs);
}

const serves = (names: string[], host: string): Promise<true> =>
  waitFor(`${names.join(', ')} serve ${host}`, async () => ((await Promise.all(names.map((n) => getThrough(proxies.get(n)!.port, host, '/')))).every((r) => r.status === 200) ? true : undefined), 30_000);

test('the leader counts the proxies of both replicas: Programmed=True 5/5', async () => {
  await apply('one');
  await serves(['a1', 'a2', 'b1', 'b-small', 'b-both'], 'one.example.com');
  await programmedMessage('one', /^5\/5 proxies serve generation 1$/);
  assert.equal((await routeState('one'))?.programmed?.status, 'True');

  const a = await fleetOf('ctrl-a');
  assert.equal(a.leader, true);
  assert.deepEqual(a.proxies.map((p) => p.name), ['a1', 'a2'], 'only a1 and a2 are connected to the leader itself');
  assert.deepEqual(a.fleet.counted.map((p) => `${p.name}@${p.replica}`), ['a1@ctrl-a', 'a2@ctrl-a', 'b-both@ctrl-b', 'b-small@ctrl-b', 'b1@ctrl-b']);
  assert.deepEqual(a.fleet.replicas.map((r) => [r.replica, r.fresh, r.proxies]), [['ctrl-b', true, 3]]);
  assert.equal(await fleetMetrics('ctrl-a'), 'fresh=1 stale=0 proxies=3 failures=0');
  await waitFor('ctrl-b counts the proxies of ctrl-a', async () => ((await fleetMetrics('ctrl-b')) === 'fresh=1 stale=0 proxies=2 failures=0' ? true : undefined));

  // The published objects: one per replica, labelled, never carrying the token.
  const cms = await cp.kubectl(['get', 'configmaps', '-n', 'default', '-l', 'gatehouse.dev/fleet-of=gatehouse-controller', '-o', 'json']);
  assert.equal(cms.code, 0, cms.stderr);
  const names = (JSON.parse(cms.stdout) as { items: Array<{ metadata: { name: string } }> }).items.map((i) => i.metadata.name).sort();
  assert.deepEqual(names, ['gatehouse-controller-fleet-ctrl-a', 'gatehouse-controller-fleet-ctrl-b']);
  assert.ok(!cms.stdout.includes(TOKEN), 'the token is never published');
});

test('a NACK from a proxy on the non-leader replica shows on the status', async () => {
  // Three routes: over b-small's --max-routes 2.
  await apply('two');
  await apply('three');
  await serves(['a1', 'a2', 'b1', 'b-both'], 'three.example.com');
  const message = await programmedMessage('three', /rejected/);
  assert.match(message, /^4\/5 proxies serve generation 1; proxy b-small rejected table \S+: table has 3 routes; this proxy accepts at most 2 \(--max-routes\)$/);
  assert.equal((await routeState('three'))?.programmed?.reason, 'Rejected');
  // Back to two routes: b-small takes the table, everything is Programmed again.
  assert.equal((await cp.kubectl(['delete', 'apiroute', 'three', '-n', 'default'])).code, 0);
  await programmedMessage('two', /^5\/5 proxies serve generation 1$/);
});

test('heartbeats write no status: nothing changes, nothing is patched', async () => {
  await programmedMessage('one', /^5\/5/);
  const before = await routeState('one');
  // Several heartbeats of both replicas (one every third of the Lease duration).
  await new Promise((r) => setTimeout(r, LEASE_S * 1000 * 1.5));
  const later = await routeState('one');
  assert.equal(later?.resourceVersion, before?.resourceVersion, 'the ApiRoute was not written');
});

test('a replica stopped gracefully deletes its report: its proxies stop counting at once, not after the window', async () => {
  await startReplica('ctrl-c');
  await startFleetProxy('c1', streamPorts.get('ctrl-c')!);
  await programmedMessage('one', /^6\/6 proxies serve generation 1$/);
  assert.equal(await fleetMetrics('ctrl-a'), 'fresh=2 stale=0 proxies=4 failures=0');
  // Let the leader settle (its re-check of its own 6/6 write done), so 5/5 must be planned against the live object
  // as it is now: planned against the last compile's snapshot (which said 5/5) it was judged already written.
  await new Promise((r) => setTimeout(r, 1500));
  await controllers.get('ctrl-c')!.stop(); // SIGTERM
  await programmedMessage('one', /^5\/5 proxies serve generation 1$/);
  // Dropped because the report was deleted, not because it went stale: the leader no longer lists ctrl-c at all.
  assert.deepEqual((await fleetOf('ctrl-a')).fleet.replicas.map((r) => [r.replica, r.fresh]), [['ctrl-b', true]]);
  assert.equal(await fleetMetrics('ctrl-a'), 'fresh=1 stale=0 proxies=3 failures=0', 'a deleted report is neither fresh nor stale');
  const cm = await cp.kubectl(['get', 'configmap', 'gatehouse-controller-fleet-ctrl-c', '-n', 'default']);
  assert.notEqual(cm.code, 0, 'the ConfigMap of ctrl-c is gone');
  await proxies.get('c1')!.stop(true);
  proxies.delete('c1');
});

test('the non-leader killed with -9: its proxies drop out after the staleness window; the one pointed at both moves to the leader', async () => {
  const killedAt = Date.now();
  process.kill(controllers.get('ctrl-b')!.pid, 'SIGKILL');
  const message = await programmedMessage('one', /^3\/3 /, 30_000);
  const droppedAfterMs = Date.now() - killedAt;
  assert.equal(message, '3/3 proxies serve generation 1');
  // Not before ctrl-b's last heartbeat could have gone stale (a heartbeat every LEASE/3, stale after LEASE).
  assert.ok(droppedAfterMs >= (LEASE_S * 1000 * 2) / 3 - 100, `dropped ${droppedAfterMs} ms after the kill`);

  const a = await fleetOf('ctrl-a');
  assert.deepEqual(a.proxies.map((p) => p.name), ['a1', 'a2', 'b-both'], 'b-both reconnected through the relay to ctrl-a');
  assert.deepEqual(a.fleet.counted.map((p) => `${p.name}@${p.replica}`), ['a1@ctrl-a', 'a2@ctrl-a', 'b-both@ctrl-a']);
  assert.deepEqual(a.fleet.replicas.map((r) => [r.replica, r.fresh]), [['ctrl-b', false]]);
  assert.equal(await fleetMetrics('ctrl-a'), 'fresh=0 stale=1 proxies=0 failures=0');

  // The next change is Programmed by the three that are left.
  await apply('after');
  await serves(['a1', 'a2', 'b-both'], 'after.example.com');
  await programmedMessage('after', /^3\/3 proxies serve generation 1$/);
  assert.equal((await routeState('after'))?.programmed?.status, 'True');
});

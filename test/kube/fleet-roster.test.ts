// The fleet roster against a real API server: another replica's report counts while it heartbeats, drops out once
// it goes stale, and only the leader deletes an object that stayed stale for the collect window (a replica that died
// for good). Short windows so the whole life of a dead replica fits in a few seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { encodeFleetReport, FLEET_DATA_KEY, FLEET_LABEL, fleetLabelValue } from '../../controller/distribute/fleet-report.ts';
import { FleetRoster } from '../../controller/distribute/fleet-roster.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const GROUP = 'roster-test';
const STALE_MS = 600;
const COLLECT_MS = 1_800;

function configMap(object: string, replica: string, proxyNames: string[], extraData: Record<string, string> = {}): string {
  const now = Date.now();
  const proxies = proxyNames.map((name) => ({ name, connectedAt: now, version: 'v1', lastAckAt: now, lastError: null }));
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: object, namespace: 'default', labels: { [FLEET_LABEL]: fleetLabelValue(GROUP) } },
    data: { [FLEET_DATA_KEY]: encodeFleetReport(replica, proxies, now), ...extraData },
  });
}

async function put(cp: ControlPlane, json: string): Promise<void> {
  const r = await cp.kubectl(['apply', '-f', '-'], { stdin: json });
  assert.equal(r.code, 0, r.stderr);
}

async function exists(cp: ControlPlane, object: string): Promise<boolean> {
  const r = await cp.kubectl(['get', 'configmap', object, '-n', 'default', '-o', 'name']);
  if (r.code === 0) return true;
  assert.match(r.stderr, /NotFound/);
  return false;
}

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('fleet roster: fresh reports count, stale ones drop out, only the leader collects the long-dead', async (t) => {
  const cp = await startControlPlane({ installCrds: false });
  t.after(() => cp.stop());
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cp.kubeconfigPath);

  let leader = false;
  let changes = 0;
  const roster = new FleetRoster({
    kubeConfig,
    namespace: 'default',
    group: GROUP,
    ownObject: 'own',
    staleAfterMs: STALE_MS,
    collectAfterMs: COLLECT_MS,
    isLeader: () => leader,
    onChange: () => changes++,
    logger,
  });
  roster.start();
  t.after(() => roster.stop());

  await put(cp, configMap('own', 'me', ['mine'])); // this replica's own object: never counted
  await put(cp, configMap('live', 'replica-live', ['l1', 'l2']));
  await put(cp, configMap('dead', 'replica-dead', ['d1']));
  await put(cp, configMap('garbled', 'replica-garbled', [], { [FLEET_DATA_KEY]: '{"replica": 42}' }));
  const names = (): string => roster.proxies().map((p) => `${p.name}@${p.replica}`).sort().join(',');
  await until('both reports counted', () => (names() === 'd1@replica-dead,l1@replica-live,l2@replica-live' ? true : undefined));
  assert.ok(changes >= 1, 'a newly counted report is a change');

  // 'live' heartbeats (a new resourceVersion every ~STALE/3); 'dead' never changes again.
  const heartbeat = setInterval(() => void put(cp, configMap('live', 'replica-live', ['l1', 'l2'])).catch(() => undefined), STALE_MS / 3);
  t.after(() => clearInterval(heartbeat));

  const changesBefore = changes;
  await until('the dead replica to go stale', () => (names() === 'l1@replica-live,l2@replica-live' ? true : undefined));
  assert.ok(changes > changesBefore, 'going stale is a change (the Programmed counts move)');
  assert.deepEqual(
    roster.replicas().map((r) => [r.replica, r.fresh, r.proxies]),
    [['replica-dead', false, 1], ['replica-live', true, 2]],
    'the unreadable report is not listed',
  );

  // Not the leader: past the collect window the object stays (only the leader deletes).
  await new Promise((r) => setTimeout(r, COLLECT_MS + STALE_MS));
  assert.equal(await exists(cp, 'dead'), true, 'a non-leader never deletes');

  leader = true;
  await until('the leader to delete the long-dead object', async () => ((await exists(cp, 'dead')) ? undefined : true), COLLECT_MS * 3);
  // The heartbeating, the own and the unreadable objects are not the roster's to collect.
  assert.equal(await exists(cp, 'live'), true);
  assert.equal(await exists(cp, 'own'), true);
  assert.equal(await exists(cp, 'garbled'), true);
  await until('the deleted replica to leave the list', () => (roster.replicas().map((r) => r.replica).join(',') === 'replica-live' ? true : undefined));
  assert.equal(names(), 'l1@replica-live,l2@replica-live');
});

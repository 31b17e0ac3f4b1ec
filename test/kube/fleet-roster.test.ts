// The fleet roster against a real API server: another replica's report counts while it heartbeats, drops out once
// it goes stale, and only the leader deletes an object that stayed stale for the collect window (a replica that died
// for good). Short windows so the whole life of a dead replica fits in a few seconds. The publisher's failed writes
// (its namespace does not exist yet) are counted until a write works. Both report into the controller's metrics,
// read back from its registry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { createControllerMetrics, type ControllerMetrics } from '../../controller/admin/controller-metrics.ts';
import { FleetPublisher } from '../../controller/distribute/fleet-publisher.ts';
import { encodeFleetReport, FLEET_DATA_KEY, FLEET_LABEL, fleetLabelValue } from '../../controller/distribute/fleet-report.ts';
import { FleetRoster } from '../../controller/distribute/fleet-roster.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { waitFor } from '../support/wait-for.ts';

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

/** A series' value in the registry's exposition (undefined when absent), e.g. `x_total` or `x{state="fresh"}`. */
async function metric(metrics: ControllerMetrics, series: string): Promise<number | undefined> {
  const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

let cp: ControlPlane;
const kubeConfig = new KubeConfig();

before(async () => {
  cp = await startControlPlane({ installCrds: false });
  kubeConfig.loadFromFile(cp.kubeconfigPath);
});

after(() => cp?.stop());

test('fleet roster: fresh reports count, stale ones drop out, only the leader collects the long-dead', async (t) => {
  const metrics = createControllerMetrics();
  const counts = async (): Promise<string> =>
    [`fresh=${await metric(metrics, 'gatehouse_controller_fleet_replicas{state="fresh"}')}`, `stale=${await metric(metrics, 'gatehouse_controller_fleet_replicas{state="stale"}')}`, `proxies=${await metric(metrics, 'gatehouse_controller_fleet_remote_proxies')}`].join(' ');
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
    metrics: metrics.fleet,
  });
  roster.start();
  t.after(() => roster.stop());
  assert.equal(await counts(), 'fresh=0 stale=0 proxies=0', 'reported from the start');

  await put(cp, configMap('own', 'me', ['mine'])); // this replica's own object: never counted
  await put(cp, configMap('live', 'replica-live', ['l1', 'l2']));
  await put(cp, configMap('dead', 'replica-dead', ['d1']));
  await put(cp, configMap('garbled', 'replica-garbled', [], { [FLEET_DATA_KEY]: '{"replica": 42}' }));
  const names = (): string => roster.proxies().map((p) => `${p.name}@${p.replica}`).sort().join(',');
  await waitFor('both reports counted', () => (names() === 'd1@replica-dead,l1@replica-live,l2@replica-live' ? true : undefined));
  assert.ok(changes >= 1, 'a newly counted report is a change');
  assert.equal(await counts(), 'fresh=2 stale=0 proxies=3', 'neither the own nor the unreadable report is a replica');

  // 'live' heartbeats (a new resourceVersion every ~STALE/3); 'dead' never changes again.
  const heartbeat = setInterval(() => void put(cp, configMap('live', 'replica-live', ['l1', 'l2'])).catch(() => undefined), STALE_MS / 3);
  t.after(() => clearInterval(heartbeat));

  const changesBefore = changes;
  await waitFor('the dead replica to go stale', () => (names() === 'l1@replica-live,l2@replica-live' ? true : undefined));
  assert.ok(changes > changesBefore, 'going stale is a change (the Programmed counts move)');
  assert.deepEqual(
    roster.replicas().map((r) => [r.replica, r.fresh, r.proxies]),
    [['replica-dead', false, 1], ['replica-live', true, 2]],
    'the unreadable report is not listed',
  );
  assert.equal(await counts(), 'fresh=1 stale=1 proxies=2', "a stale replica's proxies are not counted");

  // Not the leader: past the collect window the object stays (only the leader deletes).
  await new Promise((r) => setTimeout(r, COLLECT_MS + STALE_MS));
  assert.equal(await exists(cp, 'dead'), true, 'a non-leader never deletes');
  assert.equal(await metric(metrics, 'gatehouse_controller_fleet_reports_collected_total'), 0);

  leader = true;
  await waitFor('the leader to delete the long-dead object', async () => ((await exists(cp, 'dead')) ? undefined : true), COLLECT_MS * 3);
  // The heartbeating, the own and the unreadable objects are not the roster's to collect.
  assert.equal(await exists(cp, 'live'), true);
  assert.equal(await exists(cp, 'own'), true);
  assert.equal(await exists(cp, 'garbled'), true);
  await waitFor('the deleted replica to leave the list', () => (roster.replicas().map((r) => r.replica).join(',') === 'replica-live' ? true : undefined));
  assert.equal(names(), 'l1@replica-live,l2@replica-live');
  await waitFor('the collect counted', async () => ((await metric(metrics, 'gatehouse_controller_fleet_reports_collected_total')) === 1 ? true : undefined));
  assert.equal(await counts(), 'fresh=1 stale=0 proxies=2');
});

test('fleet publisher: failed writes are counted until one works', async (t) => {
  const metrics = createControllerMetrics();
  const failures = async (): Promise<number> => (await metric(metrics, 'gatehouse_controller_fleet_publish_failures_total')) ?? 0;
  const namespace = 'fleet-publisher-test';
  const publisher = new FleetPublisher({ kubeConfig, namespace, group: GROUP, replica: 'pub', heartbeatMs: 150, proxies: () => [], logger, metrics: metrics.fleet });
  publisher.start();
  t.after(() => publisher.close());
  // The namespace does not exist yet: every heartbeat's write fails.
  await waitFor('two failed writes', async () => ((await failures()) >= 2 ? true : undefined));
  assert.equal(publisher.writes, 0);

  const created = await cp.kubectl(['create', 'namespace', namespace]);
  assert.equal(created.code, 0, created.stderr);
  await waitFor('a write that works', () => (publisher.writes > 0 ? true : undefined));
  const failed = await failures();
  await waitFor('more heartbeats', () => (publisher.writes >= 3 ? true : undefined));
  assert.equal(await failures(), failed, 'no failures once writes work');
});

// The pure parts of fleet sharing and token rotation: the published report round-trips through its schema (and a
// bad one is refused with a reason), object names are valid for any replica identity, the merge counts each proxy
// once (newest connection wins), Programmed counts remote proxies by version, and a rotated token admits the old one
// only during its grace period, and each reload of the token file is counted by outcome. The processes and the API
// server are in test/kube/fleet-replicas.test.ts.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createControllerMetrics } from '../../controller/admin/controller-metrics.ts';
import { CredentialReloader } from '../../controller/distribute/credential-reloader.ts';
import { mergeFleets } from '../../controller/distribute/fleet-merge.ts';
import { decodeFleetReport, encodeFleetReport, FLEET_DATA_KEY, fleetLabelValue, fleetObjectName, type FleetProxy } from '../../controller/distribute/fleet-report.ts';
import { ProgrammedConditions } from '../../controller/distribute/programmed-conditions.ts';
import { RotatingToken, StreamToken } from '../../controller/distribute/stream-token.ts';
import type { ResourceStatus } from '../../controller/compile/compile-types.ts';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const proxy = (name: string, connectedAt: number, version: string | null, lastError: FleetProxy['lastError'] = null): FleetProxy => ({ name, connectedAt, version, lastAckAt: null, lastError });

test('a fleet report round-trips; an unreadable one is refused with a reason', () => {
  const proxies = [proxy('p1', T0, 'v1'), proxy('p2', T0 + 5, null, { version: 'v2', error: 'x'.repeat(1000), at: T0 + 9 })];
  const decoded = decodeFleetReport({ [FLEET_DATA_KEY]: encodeFleetReport('ctrl-a', proxies, T0 + 10) });
  assert.ok(decoded.ok);
  assert.equal(decoded.report.replica, 'ctrl-a');
  assert.equal(decoded.report.heartbeatAt, T0 + 10);
  assert.deepEqual(decoded.report.proxies[0], { name: 'p1', connectedAt: T0, version: 'v1', lastAckAt: null, lastError: null });
  assert.equal(decoded.report.proxies[1]?.lastError?.error.length, 300, 'errors are cut to what a condition shows');

  assert.deepEqual(decodeFleetReport(undefined), { ok: false, error: `no ${FLEET_DATA_KEY} key` });
  assert.deepEqual(decodeFleetReport({ [FLEET_DATA_KEY]: '{' }), { ok: false, error: `${FLEET_DATA_KEY} is not JSON` });
  const bad = decodeFleetReport({ [FLEET_DATA_KEY]: JSON.stringify({ replica: 'x', heartbeatAt: 'yesterday', proxies: [] }) });
  assert.ok(!bad.ok);
  assert.match(bad.error, /^heartbeatAt: /);
});

test('object names and label values are valid whatever the identity and Lease name', () => {
  const dns = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
  assert.equal(fleetObjectName('gatehouse-controller', 'ctrl-a'), 'gatehouse-controller-fleet-ctrl-a');
  const odd = fleetObjectName('gatehouse-controller', 'Host_Name-1234');
  assert.match(odd, dns);
  assert.notEqual(odd, fleetObjectName('gatehouse-controller', 'host-name-1234'), 'identities that clean up the same stay apart');
  const long = fleetObjectName('g', 'x'.repeat(400));
  assert.ok(long.length <= 253 && dns.test(long));
  assert.equal(fleetLabelValue('gatehouse-controller'), 'gatehouse-controller');
  assert.match(fleetLabelValue('a'.repeat(100)), /^h-[0-9a-f]{40}$/);
});

test('merge: each proxy counts once, its newest connection wins, a tie goes to the local record', () => {
  const merged = mergeFleets('ctrl-a', [proxy('moved', T0, 'old'), proxy('tie', T0, 'local'), proxy('here', T0, 'v')], [
    { ...proxy('moved', T0 + 1_000, 'new'), replica: 'ctrl-b' },
    { ...proxy('tie', T0, 'remote'), replica: 'ctrl-b' },
    { ...proxy('there', T0, 'v'), replica: 'ctrl-b' },
  ]);
  assert.deepEqual(merged.map((p) => [p.name, p.replica, p.version]), [
    ['here', 'ctrl-a', 'v'],
    ['moved', 'ctrl-b', 'new'],
    ['there', 'ctrl-b', 'v'],
    ['tie', 'ctrl-a', 'local'],
  ]);
});

test('Programmed: a version this replica has not compiled counts as not serving until it compiles it', () => {
  const status = (generation: number): ResourceStatus => ({ kind: 'ApiRoute', namespace: 'default', name: 'r', generation, conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok' }] });
  const pc = new ProgrammedConditions();
  pc.noteCompile([status(1)], 'v1', 1);
  const fleet = [proxy('local', T0, 'v1'), proxy('remote-ahead', T0, 'v2')];
  const message = (): string | undefined => pc.withProgrammed([status(1)], fleet)[0]?.conditions.find((c) => c.type === 'Programmed')?.message;
  assert.equal(message(), '1/2 proxies serve generation 1');
  pc.noteCompile([status(1)], 'v2', 2); // this replica catches up: same content, same version
  assert.equal(message(), '2/2 proxies serve generation 1');
});

test('a rotated token: the new one is admitted, the old one only during the grace period', () => {
  const first = StreamToken.fromValue('first-token-0123456789');
  const second = StreamToken.fromValue('second-token-0123456789');
  const token = new RotatingToken(first, 200);
  assert.ok(token.admits('Bearer first-token-0123456789'));
  assert.equal(token.rotate(StreamToken.fromValue('first-token-0123456789')), false, 'the same token again is no rotation');
  assert.equal(token.rotate(second, Date.now()), true);
  assert.ok(token.admits('Bearer second-token-0123456789'));
  assert.ok(token.admits('Bearer first-token-0123456789'), 'still admitted during the grace period');
  assert.ok(!token.admits('Bearer third-token-0123456789'));
  assert.ok(token.state().previousAdmittedUntil !== null);
  assert.equal(token.rotate(first, Date.now() - 1_000), true);
  assert.ok(!token.admits('Bearer second-token-0123456789'), 'refused once the grace period is over');
  assert.equal(token.state().previousAdmittedUntil, null);
  assert.ok(!JSON.stringify({ token }).includes('token-0123456789'));
  assert.throws(() => StreamToken.parse('short\n', '/etc/token'), /shorter than 16 characters/);
  const none = new RotatingToken(first, 0);
  none.rotate(second);
  assert.ok(!none.admits('Bearer first-token-0123456789'), 'no grace: the old token is refused at once');
});

test('token file reloads are counted by outcome, each content or failure once; the token is never in the metrics', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-reload-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  await writeFile(file, 'first-token-0123456789\n');
  const metrics = createControllerMetrics();
  const value = async (series: string): Promise<number | undefined> => {
    const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const reloads = async (): Promise<string> =>
    `ok=${await value('gatehouse_controller_stream_credential_reloads_total{kind="token",outcome="ok"}')} error=${await value('gatehouse_controller_stream_credential_reloads_total{kind="token",outcome="error"}')}`;
  const loadedAt = (): Promise<number | undefined> => value('gatehouse_controller_stream_credential_last_reload_timestamp_seconds{kind="token"}');

  const token = new RotatingToken(StreamToken.parse('first-token-0123456789\n', file), 60_000);
  const reloader = new CredentialReloader({ tokenFile: file, initialToken: 'first-token-0123456789\n', token, intervalMs: 60_000, logger: pino({ level: 'silent' }), metrics: metrics.credentials });
  const atStart = await loadedAt();
  assert.ok(atStart !== undefined && Math.abs(atStart - Date.now() / 1000) < 5, 'the token loaded at start is the first load');
  assert.equal(await value('gatehouse_controller_stream_credential_last_reload_timestamp_seconds{kind="tls"}'), undefined, 'no TLS, no TLS series');
  await reloader.check();
  assert.equal(await reloads(), 'ok=0 error=0', 'an unchanged file is no reload');

  await new Promise((r) => setTimeout(r, 20));
  await writeFile(file, 'second-token-0123456789\n');
  await reloader.check();
  assert.equal(await reloads(), 'ok=1 error=0');
  assert.ok(token.admits('Bearer second-token-0123456789'));
  const rotatedAt = await loadedAt();
  assert.ok(rotatedAt !== undefined && rotatedAt > atStart, 'a successful reload moves the timestamp');

  await writeFile(file, 'too-short\n');
  await reloader.check();
  await reloader.check();
  assert.equal(await reloads(), 'ok=1 error=1', 'a refused content counts once, however often it is polled');
  await rm(file);
  await reloader.check();
  await reloader.check();
  assert.equal(await reloads(), 'ok=1 error=2', 'a missing file counts once');
  assert.equal(await loadedAt(), rotatedAt, 'failures leave the timestamp alone');

  await writeFile(file, 'second-token-0123456789\n');
  await reloader.check();
  assert.equal(await reloads(), 'ok=2 error=2', 'the token in use put back: a valid file again');
  assert.ok(!(await metrics.registry.metrics()).includes('token-0123456789'), 'no token in the metrics');
});

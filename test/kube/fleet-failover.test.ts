// Leader failover with proxies connected: two controller replicas on one Lease behind a TCP "Service" (a relay that
// sends each new connection to the first replica that accepts it, as a Service drops an unready pod). Three proxies
// connect through it, to the leader. kill -9 the leader: the proxies keep serving, reconnect to the other replica,
// which becomes leader and writes Programmed (3/3) for the next change. Every process is stopped by pid, pass or fail.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { freePort } from '../../bench/ports.ts';
import { startEcho } from '../e2e/helpers/upstreams.ts';
import { getThrough, startProxyProcess, type ProxyProcess } from '../fleet/proxy-process.ts';
import { startControlPlane } from './control-plane.ts';
import { adminGet, startController, type ControllerProcess } from './controller-process.ts';
import { startServiceRelay } from './service-relay.ts';
import { waitFor } from '../support/wait-for.ts';

const TOKEN = 'fleet-failover-token-9a8b7c6d5e';

async function metric(c: ControllerProcess, name: string): Promise<number> {
  const { body } = await adminGet(c.adminPort, '/metrics');
  const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('leader killed with proxies connected: they keep serving, move to the new leader, which writes Programmed', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-fleet-failover-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'token'), TOKEN, { mode: 0o600 });
  const echo = await startEcho('a');
  t.after(() => echo.close());
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const streamPorts = [await freePort(), await freePort()];
  const args = (identity: string, port: number): string[] => [
    '--lease-duration', '3s', '--identity', identity,
    '--stream-port', String(port), '--stream-host', '127.0.0.1', '--stream-token-file', join(dir, 'token'),
  ];
  const a = await startController(cp.kubeconfigPath, args('ctrl-a', streamPorts[0]!));
  t.after(() => a.stop());
  await waitFor('ctrl-a leads', async () => ((await metric(a, 'gatehouse_controller_leader')) === 1 ? true : undefined), 20_000);
  const b = await startController(cp.kubeconfigPath, args('ctrl-b', streamPorts[1]!));
  t.after(() => b.stop());
  const service = await startServiceRelay(streamPorts);
  t.after(() => service.close());

  const proxies: ProxyProcess[] = [];
  t.after(() => Promise.allSettled(proxies.map((p) => p.stop(true))));
  for (const name of ['f1', 'f2', 'f3']) {
    proxies.push(await startProxyProcess(name, ['--controller', `ws://127.0.0.1:${service.port}`, '--token-file', join(dir, 'token'), '--table-file', join(dir, `${name}.json`)]));
  }

  const apply = async (name: string): Promise<void> => {
    const body = { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'ApiRoute', metadata: { name, namespace: 'default' }, spec: { hosts: [`${name}.example.com`], rules: [{ backends: [{ url: `http://127.0.0.1:${echo.port}` }] }] } };
    const r = await cp.kubectl(['apply', '-f', '-'], { stdin: stringify(body) });
    assert.equal(r.code, 0, r.stderr);
  };
  const allServe = (host: string, timeoutMs: number) =>
    waitFor(`every proxy serves ${host}`, async () => ((await Promise.all(proxies.map((p) => getThrough(p.port, host, '/')))).every((r) => r.status === 200) ? true : undefined), timeoutMs);
  const programmed = async (name: string): Promise<{ status: string; message: string } | undefined> => {
    const r = await cp.kubectl(['get', 'apiroute', name, '-n', 'default', '-o', 'json']);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { status?: { conditions?: Array<{ type: string; status: string; message: string }> } }).status?.conditions?.find((c) => c.type === 'Programmed');
  };

  await apply('before');
  await allServe('before.example.com', 30_000);
  await waitFor('Programmed 3/3 on before (written by ctrl-a)', async () => ((await programmed('before'))?.message.startsWith('3/3') ? true : undefined), 30_000);
  const onA = JSON.parse((await adminGet(a.adminPort, '/debug/fleet')).body) as { proxies: unknown[] };
  assert.equal(onA.proxies.length, 3, 'the proxies are connected to the leader');

  process.kill(a.pid, 'SIGKILL');
  // Controller gone: every proxy still serves what it had.
  for (const p of proxies) assert.equal((await getThrough(p.port, 'before.example.com', '/')).status, 200);

  await waitFor('ctrl-b leads', async () => ((await metric(b, 'gatehouse_controller_leader')) === 1 ? true : undefined), 20_000);
  await apply('after');
  await allServe('after.example.com', 30_000);
  const c = await waitFor('Programmed=True 3/3 on after, written by ctrl-b', async () => {
    const p = await programmed('after');
    return p?.status === 'True' && p.message.startsWith('3/3') ? p : undefined;
  }, 30_000);
  assert.match(c.message, /^3\/3 proxies serve generation 1$/);
  const onB = JSON.parse((await adminGet(b.adminPort, '/debug/fleet')).body) as { leader: boolean; proxies: Array<{ current: boolean }> };
  assert.equal(onB.leader, true);
  assert.equal(onB.proxies.length, 3);
  assert.ok(onB.proxies.every((p) => p.current));
});

// Two real `gatehouse controller` processes on one Lease: both compile, only the leader writes status;
// kill -9 the leader and the other takes over and writes the next change within the lease duration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { adminGet, debugTable, startController, type ControllerProcess } from './controller-process.ts';
import { waitFor } from '../support/wait-for.ts';

const LEASE_MS = 3000;
/** The CLI derives retry = lease / 7.5 (400 ms at 3 s); plus compile, status write, scheduling on 2 busy cores. */
const SLACK_MS = 3000;

function route(backend: string): string {
  return `apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata: { name: failover, namespace: default }
spec:
  hosts: ["failover.example"]
  rules:
    - backends:
        - ${backend}
`;
}

async function metric(c: ControllerProcess, name: string): Promise<number> {
  const { body } = await adminGet(c.adminPort, '/metrics');
  const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function condition(cp: ControlPlane, type: string): Promise<{ status: string; reason: string; observedGeneration?: number } | undefined> {
  const r = await cp.kubectl(['get', 'apiroute', 'failover', '-n', 'default', '-o', 'json']);
  if (r.code !== 0) return undefined;
  const obj = JSON.parse(r.stdout) as { status?: { conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[] } };
  return obj.status?.conditions?.find((c) => c.type === type);
}

test('controller failover: only the leader writes status; kill -9 it and the other takes over', { timeout: 120_000 }, async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const args = (identity: string): string[] => ['--lease-duration', `${LEASE_MS / 1000}s`, '--lease-name', 'failover', '--identity', identity];
  const a = await startController(cp.kubeconfigPath, args('ctrl-a'));
  t.after(() => a.stop());
  const b = await startController(cp.kubeconfigPath, args('ctrl-b'));
  t.after(() => b.stop());

  const applied = await cp.kubectl(['apply', '-f', '-'], { stdin: route('url: http://127.0.0.1:9') });
  assert.equal(applied.code, 0, applied.stderr);
  await waitFor('Accepted=True written', async () => ((await condition(cp, 'Accepted'))?.status === 'True' ? true : undefined), 20_000);

  const [leader, follower] = await waitFor(
    'exactly one leader',
    async () => {
      const flags = await Promise.all([a, b].map((c) => metric(c, 'gatehouse_controller_leader')));
      if (flags[0] === 1 && flags[1] === 0) return [a, b] as const;
      if (flags[0] === 0 && flags[1] === 1) return [b, a] as const;
      return undefined;
    },
    15_000,
  );
  // Both compile (any replica can serve proxies); only the leader has written.
  for (const c of [a, b]) {
    const table = await waitFor('route compiled', async () => ((await debugTable(c.adminPort))?.table.routes.length ? true : undefined));
    assert.equal(table, true);
  }
  assert.ok((await metric(leader, 'gatehouse_controller_status_patches_total')) > 0, 'the leader wrote the status');
  assert.equal(await metric(follower, 'gatehouse_controller_status_patches_total'), 0, 'the follower wrote nothing');

  const killedAt = Date.now();
  process.kill(leader.pid, 'SIGKILL');
  // A change right after the kill: nobody may write it until the follower holds the Lease.
  const changed = await cp.kubectl(['apply', '-f', '-'], { stdin: route('service: { name: missing, port: 80 }') });
  assert.equal(changed.code, 0, changed.stderr);
  await waitFor(
    'the new leader to write ResolvedRefs=False',
    async () => {
      const c = await condition(cp, 'ResolvedRefs');
      return c?.status === 'False' && c.observedGeneration === 2 ? true : undefined;
    },
    LEASE_MS + SLACK_MS + 10_000,
    50,
  );
  const writtenMs = Date.now() - killedAt;
  t.diagnostic(`kill -9 of the leader → the other controller wrote the next status after ${writtenMs} ms (lease ${LEASE_MS} ms)`);
  assert.ok(writtenMs < LEASE_MS + SLACK_MS, `took ${writtenMs} ms`);
  assert.equal(await metric(follower, 'gatehouse_controller_leader'), 1);
  assert.ok((await metric(follower, 'gatehouse_controller_status_patches_total')) > 0);
  assert.equal((await condition(cp, 'ResolvedRefs'))?.reason !== undefined, true);
});

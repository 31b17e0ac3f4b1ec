// `gatehouse controller` against a real kube-apiserver + etcd: resources applied with the built kubectl show up in
// the compiled table (read from the controller's /debug/table) and get statuses written by the controller.
import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { missingHeapFlags } from '../../cli/commands/controller-heap-flags.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { adminGet, debugTable, startController, waitControllerReady, type ControllerProcess, type DebugTable } from './controller-process.ts';
import type { Condition } from '../../crds/schemas/index.ts';
import { waitFor } from '../support/wait-for.ts';

let cp: ControlPlane;
let controller: ControllerProcess;

before(async () => {
  cp = await startControlPlane();
  controller = await startController(cp.kubeconfigPath, ['--lease-duration', '3s', '--identity', 'e2e-controller']);
  await waitControllerReady(controller);
});

after(async () => {
  await controller?.stop();
  await cp?.stop();
});


test('the controller process runs with its V8 heap flags (it re-executed itself, same pid)', async () => {
  const argv = (await readFile(`/proc/${controller.pid}/cmdline`, 'utf8')).split('\0');
  for (const flag of missingHeapFlags([], undefined)) assert.ok(argv.includes(flag), `${flag} in ${argv.join(' ')}`);
});

async function apply(...objects: Record<string, unknown>[]): Promise<void> {
  const r = await cp.kubectl(['apply', '-f', '-'], { stdin: objects.map((o) => stringify(o)).join('---\n') });
  assert.equal(r.code, 0, `kubectl apply failed: ${r.stderr}`);
}

async function kubectlOk(args: string[]): Promise<string> {
  const r = await cp.kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function conditionsOf(name: string, namespace = 'default'): Promise<{ generation: number; conditions: Condition[] }> {
  const obj = JSON.parse(await kubectlOk(['get', 'apiroute', name, '-n', namespace, '-o', 'json'])) as {
    metadata: { generation: number };
    status?: { conditions?: Condition[] };
  };
  return { generation: obj.metadata.generation, conditions: obj.status?.conditions ?? [] };
}

/** Wait until the resource's status is about its current generation and `check` accepts the conditions. */
async function waitForStatus(name: string, check: (c: Map<string, Condition>) => boolean, what: string): Promise<Map<string, Condition>> {
  return waitFor(`${name}: ${what}`, async () => {
    const { generation, conditions } = await conditionsOf(name);
    const byType = new Map(conditions.map((c) => [c.type, c]));
    const current = conditions.length > 0 && conditions.every((c) => c.observedGeneration === generation);
    return current && check(byType) ? byType : undefined;
  });
}

async function waitForTable(what: string, check: (t: DebugTable) => boolean): Promise<DebugTable> {
  return waitFor(what, async () => {
    const t = await debugTable(controller.adminPort);
    return t && check(t) ? t : undefined;
  });
}

const routesOf = (t: DebugTable, name: string) => t.table.routes.filter((r) => r.source.name === name && r.source.namespace === 'default');
const backend = (t: DebugTable, id: string) => t.table.backends.find((b) => b.id === id);

function apiRoute(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'ApiRoute', metadata: { name, namespace: 'default' }, spec };
}

const urlRoute = (name: string, host: string, header = 'one') =>
  apiRoute(name, {
    hosts: [host],
    rules: [{ matches: [{ path: { type: 'Prefix', value: '/' } }], backends: [{ url: 'http://127.0.0.1:9101' }], requestHeaders: { set: { 'x-rev': header } } }],
  });

test('apply → Accepted=True on the status and the route in the table; update → a new table version', async () => {
  await apply(urlRoute('alpha', 'alpha.example.com'));
  const status = await waitForStatus('alpha', (c) => c.get('Accepted')?.status === 'True', 'Accepted=True');
  assert.equal(status.get('ResolvedRefs')?.status, 'True');
  const first = await waitForTable('alpha in the table', (t) => routesOf(t, 'alpha').length === 1);
  assert.deepEqual(routesOf(first, 'alpha')[0]?.['hosts'], ['alpha.example.com']);

  await apply(urlRoute('alpha', 'alpha.example.com', 'two'));
  const second = await waitForTable('alpha updated', (t) => JSON.stringify(routesOf(t, 'alpha')).includes('"two"'));
  assert.notEqual(second.version, first.version);
  await waitForStatus('alpha', (c) => c.get('Accepted')?.status === 'True' && c.get('Accepted')?.observedGeneration === 2, 'generation 2 accepted');
});

test('a status someone else overwrote is put back; the echoes of its own writes are not re-written', async () => {
  await apply(urlRoute('overwritten', 'overwritten.example.com'));
  await waitForStatus('overwritten', (c) => c.get('Accepted')?.status === 'True', 'Accepted=True');
  const rv = async (): Promise<string> => (JSON.parse(await kubectlOk(['get', 'apiroute', 'overwritten', '-n', 'default', '-o', 'json'])) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  // Settled: our write's echo came back and was recognised, so nothing more is written.
  const settled = await rv();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await rv(), settled, 'no status churn after its own write');

  const forged = { type: 'Accepted', status: 'False', reason: 'Invalid', message: 'forged by a test', lastTransitionTime: new Date().toISOString(), observedGeneration: 1 };
  await kubectlOk(['patch', 'apiroute', 'overwritten', '-n', 'default', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [forged] } })]);
  const restored = await waitForStatus('overwritten', (c) => c.get('Accepted')?.status === 'True' && c.has('ResolvedRefs'), 'Accepted=True put back');
  assert.notEqual(restored.get('Accepted')?.message, 'forged by a test');
});

test('an invalid route the CRD lets through → Accepted=False naming the field; every other route byte-identical', async () => {
  await apply(urlRoute('steady', 'steady.example.com'));
  const before = await waitForTable('steady in the table', (t) => routesOf(t, 'steady').length === 1);
  const steadyBefore = JSON.stringify(routesOf(before, 'steady'));

  await apply(
    apiRoute('bad-regex', {
      hosts: ['bad.example.com'],
      rules: [{ matches: [{ path: { type: 'Regex', value: '/items/([0-9' } }], backends: [{ url: 'http://127.0.0.1:9101' }] }],
    }),
  );
  const status = await waitForStatus('bad-regex', (c) => c.get('Accepted')?.status === 'False', 'Accepted=False');
  assert.match(status.get('Accepted')?.message ?? '', /spec\.rules\[0\]\.matches\[0\]\.path/);
  const after = await debugTable(controller.adminPort);
  assert.ok(after);
  assert.equal(routesOf(after, 'bad-regex').length, 0);
  assert.equal(JSON.stringify(routesOf(after, 'steady')), steadyBefore);

  // The rejection is also an Event on the resource.
  await waitFor('a Warning event for bad-regex', async () => {
    const out = await kubectlOk(['get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=bad-regex', '-o', 'json']);
    const items = (JSON.parse(out) as { items: { type: string }[] }).items;
    return items.some((e) => e.type === 'Warning') ? true : undefined;
  });
});

test('a missing Service → ResolvedRefs=False naming it', async () => {
  await apply(apiRoute('to-missing', { hosts: ['missing.example.com'], rules: [{ backends: [{ service: { name: 'nowhere', port: 80 } }] }] }));
  const status = await waitForStatus('to-missing', (c) => c.get('ResolvedRefs')?.status === 'False', 'ResolvedRefs=False');
  assert.match(status.get('ResolvedRefs')?.message ?? '', /Service default\/nowhere/);
  assert.equal(status.get('Accepted')?.status, 'True');
});

test("a Service's EndpointSlice changes → the table's endpoints change; no ready endpoints → ResolvedRefs says why", async () => {
  const slice = (endpoints: { ip: string; ready: boolean }[]) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready } })),
  });
  await apply(
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    slice([{ ip: '10.0.0.1', ready: true }]),
    apiRoute('to-web', { hosts: ['web.example.com'], rules: [{ backends: [{ service: { name: 'web', port: 80 } }] }] }),
  );
  const id = 'svc:default/web:80';
  await waitForTable('web with one endpoint', (t) => JSON.stringify(backend(t, id)?.endpoints) === JSON.stringify([{ host: '10.0.0.1', port: 8080 }]));
  await waitForStatus('to-web', (c) => c.get('ResolvedRefs')?.status === 'True', 'ResolvedRefs=True');

  await apply(slice([{ ip: '10.0.0.1', ready: true }, { ip: '10.0.0.2', ready: true }, { ip: '10.0.0.3', ready: false }]));
  await waitForTable('web with two ready endpoints', (t) =>
    JSON.stringify(backend(t, id)?.endpoints) === JSON.stringify([{ host: '10.0.0.1', port: 8080 }, { host: '10.0.0.2', port: 8080 }]),
  );

  await apply(slice([{ ip: '10.0.0.1', ready: false }]));
  await waitForTable('web with no endpoints', (t) => backend(t, id)?.endpoints.length === 0);
  const status = await waitForStatus('to-web', (c) => /no ready endpoints/.test(c.get('ResolvedRefs')?.message ?? ''), 'ResolvedRefs mentions no ready endpoints');
  assert.match(status.get('ResolvedRefs')?.message ?? '', /Service default\/web port 80 has no ready endpoints/);
});

test('delete → the route is gone from the table', async () => {
  await kubectlOk(['delete', 'apiroute', 'alpha', '-n', 'default']);
  const t = await waitForTable('alpha gone', (tb) => routesOf(tb, 'alpha').length === 0);
  assert.ok(routesOf(t, 'steady').length === 1, 'other routes stay');
});

test('1,000 ApiRoutes applied in a row are compiled a handful of times, not 1,000', async (t) => {
  const before = await debugTable(controller.adminPort);
  assert.ok(before);
  const items = Array.from({ length: 1000 }, (_, i) => ({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiRoute',
    metadata: { name: `burst-${i}`, namespace: 'default' },
    spec: { hosts: [`burst-${i}.example.com`], rules: [{ backends: [{ url: 'http://127.0.0.1:9101' }] }] },
  }));
  const started = Date.now();
  const r = await cp.kubectl(['apply', '--server-side', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const applyMs = Date.now() - started;
  const done = await waitFor(
    'all 1,000 routes in the table',
    async () => {
      const table = await debugTable(controller.adminPort);
      return table && table.table.routes.filter((x) => x.source.name.startsWith('burst-')).length === 1000 ? table : undefined;
    },
    60_000,
    250,
  );
  const compiles = done.sequence - before.sequence;
  t.diagnostic(`1,000 applies over ${applyMs} ms → ${compiles} compiles`);
  // While writes keep coming the maximum delay grows 250 ms → 2 s: about 5 + applyMs/2000 compiles.
  const bound = 8 + Math.ceil(applyMs / 2000);
  assert.ok(compiles <= bound, `${compiles} compiles for 1,000 applies over ${applyMs} ms (bound ${bound})`);
});

test('admin port: healthz, readyz, metrics', async () => {
  assert.equal((await adminGet(controller.adminPort, '/healthz')).status, 200);
  const ready = await adminGet(controller.adminPort, '/readyz');
  assert.equal(ready.status, 200);
  const metrics = await adminGet(controller.adminPort, '/metrics');
  assert.match(metrics.body, /gatehouse_controller_compiles_total \d+/);
  assert.match(metrics.body, /gatehouse_controller_leader 1/);
  // The tests above applied, changed and deleted ApiRoutes and EndpointSlices: the informers' events are counted by
  // kind and event.
  const events = (kind: string, event: string): number =>
    Number(new RegExp(`^gatehouse_controller_watch_events_total\\{kind="${kind}",event="${event}"\\} (\\S+)$`, 'm').exec(metrics.body)?.[1] ?? NaN);
  assert.ok(events('ApiRoute', 'add') >= 1000, `ApiRoute adds: ${events('ApiRoute', 'add')}`);
  assert.ok(events('ApiRoute', 'update') >= 1, 'ApiRoute updates (spec changes and status writes)');
  assert.ok(events('ApiRoute', 'delete') >= 1, 'ApiRoute deletes');
  assert.ok(events('EndpointSlice', 'update') + events('EndpointSlice', 'add') >= 1, 'EndpointSlice changes');
  assert.equal(events('RatePolicy', 'delete'), 0, 'a kind nothing happened to has its zero series');
  // Compile time: one observation per compile; the table served is named by its version.
  const compiles = Number(/^gatehouse_controller_compiles_total (\S+)$/m.exec(metrics.body)?.[1]);
  assert.equal(Number(/^gatehouse_controller_compile_seconds_count (\S+)$/m.exec(metrics.body)?.[1]), compiles);
  // Read until a scrape and /debug/table agree (a compile may land between the two reads); one series only.
  await waitFor('gatehouse_controller_table_info names the /debug/table version', async () => {
    const served = (await debugTable(controller.adminPort))?.version;
    const named = [...(await adminGet(controller.adminPort, '/metrics')).body.matchAll(/^gatehouse_controller_table_info\{version="([^"]+)"\} 1$/gm)].map((m) => m[1]);
    return named.length === 1 && named[0] === served ? true : undefined;
  });
  assert.doesNotMatch(controller.logs(), /"data":/, 'no Secret data in the logs');
});

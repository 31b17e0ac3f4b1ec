// ConfigMap references in a cluster, end to end: a real API server, one `gatehouse controller` with the stream, one
// real `gatehouse proxy` subscribed to it, one echo upstream on loopback. An ApiRoute whose rule validates bodies
// against a schema in a ConfigMap (requestValidation.bodySchemaRef) and whose other rule answers with a page from a
// ConfigMap (directResponse.body.configMap). Before the ConfigMap exists, and while it lacks the controller's label,
// the validated rule answers 503 and never reaches the upstream, and ResolvedRefs=False names the ConfigMap and the
// label; once labelled, the schema validates and the page is served; an edit to the ConfigMap changes what is
// accepted. Every process is stopped by pid in after(), pass or fail.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { freePort } from '../../bench/ports.ts';
import { send, type Reply } from '../e2e/helpers/http-client.ts';
import { startEcho, type Upstream } from '../e2e/helpers/upstreams.ts';
import { startProxyProcess, type ProxyProcess } from '../fleet/proxy-process.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { startController, waitControllerReady, type ControllerProcess } from './controller-process.ts';
import type { Condition } from '../../crds/schemas/index.ts';
import { waitFor } from '../support/wait-for.ts';
import { stopInOrder } from '../support/stop-in-order.ts';

const NS = 'default';
const HOST = 'shop.example.com';
const STREAM_TOKEN = `configmaps-e2e-${randomBytes(12).toString('hex')}`;
/** The label the controller's default --configmap-selector watches. */
const WATCHED = { 'gatehouse.dev/config': '' };

let cp: ControlPlane | undefined;
let controller: ControllerProcess | undefined;
let proxy: ProxyProcess | undefined;
let echo: Upstream | undefined;
let dir: string | undefined;

const ORDER_V1 = JSON.stringify({ type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } });
const ORDER_V2 = JSON.stringify({ type: 'object', required: ['sku', 'quantity'], properties: { sku: { type: 'string' }, quantity: { type: 'integer' } } });
const PAGE = '<h1>Closed</h1><p>${request.path}</p>';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-configmaps-e2e-'));
  await writeFile(join(dir, 'token'), `${STREAM_TOKEN}\n`, { mode: 0o600 });
  echo = await startEcho('echo');
  const streamPort = await freePort();
  cp = await startControlPlane();
  controller = await startController(cp.kubeconfigPath, [
    '--lease-duration', '3s', '--identity', 'configmaps-controller',
    '--stream-port', String(streamPort), '--stream-host', '127.0.0.1', '--stream-token-file', join(dir, 'token'),
  ]);
  await waitControllerReady(controller!);
  proxy = await startProxyProcess('configmaps-proxy', ['--controller', `ws://127.0.0.1:${streamPort}`, '--token-file', join(dir, 'token'), '--table-file', join(dir, 'proxy.json')]);
  await apply({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiRoute',
    metadata: { name: 'shop', namespace: NS },
    spec: {
      hosts: [HOST],
      rules: [
        {
          matches: [{ path: { type: 'Exact', value: '/orders' }, methods: ['POST'] }],
          requestValidation: { bodySchemaRef: { configMap: 'shop-config', key: 'order.json' } },
          backends: [{ url: `http://127.0.0.1:${echo.port}` }],
        },
        {
          matches: [{ path: { type: 'Prefix', value: '/closed' } }],
          directResponse: { status: 503, headers: { 'content-type': 'text/html' }, body: { configMap: { name: 'shop-config', key: 'closed.html' } } },
        },
      ],
    },
  });
});

after(() =>
  stopInOrder([
    () => proxy?.stop(true),
    () => controller?.stop(),
    () => cp?.stop(),
    () => echo?.close(),
    () => (dir === undefined ? undefined : rm(dir, { recursive: true, force: true })),
  ]),
);

function kube(): ControlPlane {
  assert.ok(cp, 'the control plane started');
  return cp;
}

async function apply(...objects: Record<string, unknown>[]): Promise<void> {
  const r = await kube().kubectl(['apply', '-f', '-'], { stdin: objects.map((o) => stringify(o)).join('---\n') });
  assert.equal(r.code, 0, `kubectl apply failed: ${r.stderr}`);
}

function configMap(labels: Record<string, string>, data: Record<string, string>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-config', namespace: NS, labels }, data };
}

async function resolvedRefs(): Promise<Condition | undefined> {
  const r = await kube().kubectl(['get', 'apiroute', 'shop', '-n', NS, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const obj = JSON.parse(r.stdout) as { metadata: { generation: number }; status?: { conditions?: Condition[] } };
  const c = obj.status?.conditions?.find((x) => x.type === 'ResolvedRefs');
  return c?.observedGeneration === obj.metadata.generation ? c : undefined;
}

function order(body: string): Promise<Reply> {
  assert.ok(proxy, 'the proxy started');
  return send(proxy.port, '/orders', { method: 'POST', headers: { host: HOST, 'content-type': 'application/json' }, body, timeoutMs: 5_000 });
}

const answers = (body: string, status: number) => (): Promise<Reply | undefined> => order(body).then((r) => (r.status === status ? r : undefined));

test('a missing, then unlabelled ConfigMap: ResolvedRefs=False naming it and the label, the rule answers 503 and forwards nothing', async () => {
  const closed = await waitFor('the schema rule to fail closed', answers('{"sku":"a"}', 503), 30_000);
  assert.deepEqual(closed.json(), { error: 'request validation schema unavailable' });
  const condition = await waitFor('ResolvedRefs=False', async () => {
    const c = await resolvedRefs();
    return c?.status === 'False' ? c : undefined;
  });
  assert.equal(condition.reason, 'ConfigMapNotFound');
  assert.match(condition.message, /spec\.rules\[0\]\.requestValidation\.bodySchemaRef: ConfigMap default\/shop-config not found \(in a cluster it must carry the --configmap-selector label, by default gatehouse\.dev\/config\)/);
  assert.match(condition.message, /spec\.rules\[1\]\.directResponse\.body\.configMap/);

  await apply(configMap({}, { 'order.json': ORDER_V1, 'closed.html': PAGE })); // not labelled: not watched
  assert.equal((await order('{"sku":"a"}')).status, 503);
  assert.equal(echo?.hits(), 0, 'nothing reached the upstream');
});

test('labelled: the schema validates and the page is served; an edit to the ConfigMap changes what is accepted', async () => {
  await apply(configMap(WATCHED, { 'order.json': ORDER_V1, 'closed.html': PAGE }));
  const ok = await waitFor('the schema to be served', answers('{"sku":"a"}', 200), 30_000);
  assert.equal(ok.json<{ body: string }>().body, '{"sku":"a"}');
  const refused = await order('{}');
  assert.equal(refused.status, 400);
  assert.equal(refused.json<{ errors: Array<{ path: string }> }>().errors[0]?.path, '/sku');
  await waitFor('ResolvedRefs=True', async () => ((await resolvedRefs())?.status === 'True' ? true : undefined));

  const page = await send(proxy!.port, '/closed/<x>', { headers: { host: HOST }, timeoutMs: 5_000 });
  assert.equal(page.status, 503);
  assert.equal(page.body, '<h1>Closed</h1><p>/closed/&lt;x&gt;</p>', 'the path HTML-escaped (this client sends it raw)');

  await apply(configMap(WATCHED, { 'order.json': ORDER_V2, 'closed.html': PAGE }));
  await waitFor('the edited schema to refuse a body without quantity', answers('{"sku":"a"}', 400), 30_000);
  assert.equal((await order('{"sku":"a","quantity":3}')).status, 200);
});

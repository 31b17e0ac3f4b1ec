// ConfigMap references as a user runs them: `gatehouse standalone` on a folder holding a ConfigMap manifest with a JSON
// Schema and an HTML page, and an ApiRoute whose rules read them (requestValidation.bodySchemaRef and
// directResponse.body.configMap). The schema validates; an edit to the ConfigMap file changes what is accepted without
// a restart; a schema that stops being JSON (or a deleted key) is reported and the rule answers 503, never forwarding
// unvalidated; the page is served from the ConfigMap and follows its edits.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandalone, type GatehouseProcess } from '../support/gatehouse-process.ts';
import { eventually } from '../support/wait-for.ts';

let upstream: Server;
let upstreamPort = 0;
let bodies: string[] = [];
let dir = '';
let gw: GatehouseProcess;

const manifest = (doc: unknown): string => `${JSON.stringify(doc, null, 2)}\n`;

function configMap(data: Record<string, string>): string {
  return manifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-config', namespace: 'default' }, data });
}

const ORDER_V1 = JSON.stringify({ type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } });
const ORDER_V2 = JSON.stringify({ type: 'object', required: ['sku', 'quantity'], properties: { sku: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } } });

function post(path: string, body: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${gw.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}

before(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString());
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as { port: number }).port;
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-configmaps-'));
  await writeFile(join(dir, 'config.yaml'), configMap({ 'order.json': ORDER_V1, 'closed.html': '<h1>Closed</h1><p>${request.path}</p>' }));
  await writeFile(
    join(dir, 'routes.yaml'),
    manifest({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiRoute',
      metadata: { name: 'shop', namespace: 'default' },
      spec: {
        rules: [
          {
            matches: [{ path: { type: 'Exact', value: '/orders' }, methods: ['POST'] }],
            requestValidation: { bodySchemaRef: { configMap: 'shop-config', key: 'order.json' } },
            backends: [{ url: `http://127.0.0.1:${upstreamPort}` }],
          },
          {
            matches: [{ path: { type: 'Prefix', value: '/closed' } }],
            directResponse: { status: 503, headers: { 'content-type': 'text/html' }, body: { configMap: { name: 'shop-config', key: 'closed.html' } } },
          },
        ],
      },
    }),
  );
  gw = await startStandalone(dir);
});

after(async () => {
  await gw?.stop();
  await new Promise<void>((r) => upstream?.close(() => r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("the schema from the ConfigMap validates, and an edit to the ConfigMap's file changes what is accepted", async () => {
  assert.equal((await post('/orders', '{"sku":"a"}')).status, 200);
  const refused = await post('/orders', '{}');
  assert.equal(refused.status, 400);
  assert.equal(((await refused.json()) as { errors: Array<{ path: string }> }).errors[0]?.path, '/sku');
  assert.deepEqual(bodies, ['{"sku":"a"}']);

  bodies = [];
  await writeFile(join(dir, 'config.yaml'), configMap({ 'order.json': ORDER_V2, 'closed.html': '<h1>Closed</h1><p>${request.path}</p>' }));
  await eventually(async () => (await post('/orders', '{"sku":"a"}')).status === 400, 'the new schema to refuse a body without quantity');
  bodies = []; // what the old schema let through while the edit was being picked up
  assert.equal((await post('/orders', '{"sku":"a","quantity":2}')).status, 200);
  assert.deepEqual(bodies, ['{"sku":"a","quantity":2}']);
});

test('a direct response body from the ConfigMap, escaped for its content type', async () => {
  const page = await fetch(`http://127.0.0.1:${gw.port}/closed/<b>`);
  assert.equal(page.status, 503);
  assert.equal(page.headers.get('content-type'), 'text/html');
  assert.equal(await page.text(), '<h1>Closed</h1><p>/closed/%3Cb%3E</p>');
});

test('a schema that is no longer JSON, then a missing key: reported, and the rule answers 503 without forwarding', async () => {
  await writeFile(join(dir, 'config.yaml'), configMap({ 'order.json': 'type: object', 'closed.html': '<h1>Closed</h1>' }));
  await eventually(async () => (await post('/orders', '{"sku":"a","quantity":2}')).status === 503, 'the rule to fail closed');
  bodies = []; // valid bodies forwarded under the previous schema while the edit was being picked up
  await eventually(async () => /spec\.rules\[0\]\.requestValidation\.bodySchemaRef: ConfigMap default\/shop-config key "order\.json" is not JSON/.test(gw.stderr()), 'the problem on stderr');
  const line = gw.stderr().split('\n').find((l) => l.includes('is not JSON')) ?? '';
  assert.match(line, /ApiRoute default\/shop: ResolvedRefs=False/);

  await writeFile(join(dir, 'config.yaml'), configMap({ 'closed.html': '<h1>Closed</h1>' }));
  await eventually(async () => /ConfigMap default\/shop-config has no key "order\.json"/.test(gw.stderr()), 'the missing key on stderr');
  const answer = await post('/orders', '{"sku":"a","quantity":2}');
  assert.equal(answer.status, 503);
  assert.equal((await post('/orders', '{}')).status, 503);
  assert.deepEqual(await answer.json(), { error: 'request validation schema unavailable' });
  assert.deepEqual(bodies, [], 'nothing reached the upstream unvalidated');

  await writeFile(join(dir, 'config.yaml'), configMap({ 'order.json': ORDER_V1, 'closed.html': '<h1>Closed</h1>' }));
  await eventually(async () => (await post('/orders', '{"sku":"b"}')).status === 200, 'served again once fixed');
});

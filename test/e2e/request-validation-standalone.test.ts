// Request validation as a user runs it: `gatehouse standalone` on a folder of manifests. A schema that does not compile
// is reported on stderr with its file, ApiRoute and field, and its route is not served; the route next to it, and the
// same route once fixed, validate as written.
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

function route(name: string, path: string, schema: string): string {
  return `apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata: { name: ${name}, namespace: default }
spec:
  rules:
    - matches: [{ path: { type: Exact, value: ${path} }, methods: [POST] }]
      requestValidation:
        bodySchema: ${schema}
      backends: [{ url: "http://127.0.0.1:${upstreamPort}" }]
`;
}

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
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-validation-'));
  await writeFile(join(dir, 'good.yaml'), route('good', '/good', '{ type: object, required: [name] }'));
  await writeFile(join(dir, 'bad.yaml'), route('bad', '/bad', '{ type: object, properties: { n: { type: integr } } }'));
  gw = await startStandalone(dir);
});

after(async () => {
  await gw?.stop();
  await new Promise<void>((r) => upstream?.close(() => r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a schema that does not compile: Accepted=False naming the field, the route not served, the other route untouched', async () => {
  await eventually(async () => /ApiRoute default\/bad: Accepted=False/.test(gw.stderr()), 'the schema error on stderr');
  const line = gw.stderr().split('\n').find((l) => l.includes('ApiRoute default/bad: Accepted=False')) ?? '';
  assert.match(line, /bad\.yaml:\d+ ApiRoute default\/bad/);
  assert.match(line, /spec\.rules\[0\]\.requestValidation\.bodySchema: does not compile/);
  assert.equal((await post('/bad', '{}')).status, 404, 'never accepted: not served at all');

  const good = await post('/good', '{"name":"a"}');
  assert.equal(good.status, 200);
  const refused = await post('/good', '{}');
  assert.equal(refused.status, 400);
  const body = (await refused.json()) as { errors: Array<{ path: string }> };
  assert.equal(body.errors[0]?.path, '/name');
  assert.deepEqual(bodies, ['{"name":"a"}']);
});

test('fixing the schema serves the route with it', async () => {
  bodies = [];
  await writeFile(join(dir, 'bad.yaml'), route('bad', '/bad', '{ type: object, properties: { n: { type: integer } } }'));
  await eventually(async () => (await post('/bad', '{"n":1}')).status === 200, '/bad to be served');
  assert.equal((await post('/bad', '{"n":"one"}')).status, 400);
  assert.deepEqual(bodies, ['{"n":1}']);
});

// The standalone gateway as a user runs it: a real CLI process, a folder of manifests edited while it serves.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandalone, type GatehouseProcess } from '../support/gatehouse-process.ts';
import { eventually } from '../support/wait-for.ts';

let upstream: Server;
let upstreamPort = 0;
let dir = '';
let gw: GatehouseProcess;

function route(name: string, path: string, extra = ''): string {
  return `apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata: { name: ${name}, namespace: default }
spec:
  rules:
    - matches: [{ path: { type: Prefix, value: ${path} } }]
      backends: [{ url: "http://127.0.0.1:${upstreamPort}" }]
${extra}`;
}

async function get(path: string): Promise<{ status: number; body: string; json: () => Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${gw.port}${path}`);
  const body = await res.text();
  return { status: res.status, body, json: () => JSON.parse(body) as Record<string, unknown> };
}

before(async () => {
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, stage: req.headers['x-stage'] ?? null }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as { port: number }).port;
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-standalone-'));
  await writeFile(join(dir, 'a.yaml'), route('a', '/a', '      requestHeaders: { set: { x-stage: one } }\n'));
  gw = await startStandalone(dir);
});

after(async () => {
  await gw?.stop();
  await new Promise<void>((r) => upstream?.close(() => r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('serves the manifests in the folder and reports ready', async () => {
  const ready = await fetch(`http://127.0.0.1:${gw.adminPort}/readyz`);
  assert.equal(ready.status, 200);
  const res = await get('/a/x');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json(), { path: '/a/x', stage: 'one' });
  const missing = await get('/nowhere');
  assert.equal(missing.status, 404);
  assert.equal(missing.json().error !== undefined, true);
});

test('a new file is picked up without a restart', async () => {
  await writeFile(join(dir, 'b.yaml'), route('b', '/b'));
  await eventually(async () => (await get('/b')).status === 200, '/b to be served');
});

test('a file with a YAML syntax error is reported with file and line, and its last good contents keep serving', async () => {
  await writeFile(join(dir, 'a.yaml'), 'apiVersion: gatehouse.dev/v1alpha1\nkind: ApiRoute\nmetadata: { name: a\n  oops: [\n');
  await eventually(async () => gw.stderr().includes('a.yaml:'), 'the syntax error on stderr');
  assert.match(gw.stderr(), /a\.yaml:\d+:\d+: YAML syntax error/);
  assert.match(gw.stderr(), /still serving its previous contents/);
  assert.equal((await get('/a/y')).status, 200);
});

test('a resource that fails validation is reported with file, resource and field; its last accepted version keeps serving', async () => {
  const invalid = `apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata: { name: a, namespace: default }
spec:
  rules:
    - matches: [{ path: { type: Prefix, value: /a } }]
      backends: [{ url: "http://127.0.0.1:${upstreamPort}", weight: 0 }]
`;
  await writeFile(join(dir, 'a.yaml'), invalid);
  await eventually(async () => /ApiRoute default\/a: Accepted=False/.test(gw.stderr()), 'the validation error on stderr');
  const line = gw.stderr().split('\n').find((l) => l.includes('ApiRoute default/a: Accepted=False')) ?? '';
  assert.match(line, /a\.yaml:\d+ ApiRoute default\/a/);
  assert.match(line, /spec\.rules\[0\]\.backends/);
  const res = await get('/a/z');
  assert.equal(res.status, 200, 'the last accepted version of the route still serves');
  assert.equal(res.json().stage, 'one');
  assert.equal((await get('/b')).status, 200, 'other resources are untouched');
});

test('fixing the file serves the new version; deleting a file removes its routes', async () => {
  await writeFile(join(dir, 'a.yaml'), route('a', '/a', '      requestHeaders: { set: { x-stage: two } }\n'));
  await eventually(async () => (await get('/a')).body.includes('"two"'), 'the fixed route');
  assert.match(gw.stderr(), /all problems .* resolved/);
  await unlink(join(dir, 'b.yaml'));
  await eventually(async () => (await get('/b')).status === 404, '/b to be gone');
});

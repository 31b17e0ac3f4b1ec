// Direct responses as a user runs them: the real `gatehouse standalone` CLI on a folder holding an API-key Authorizer,
// its Secret and ApiRoutes whose rules answer by themselves. A mock behind the authorizer stays protected (401 without
// a key, the mock naming the consumer with one); a maintenance page comes from a file in the folder and an edit to the
// file is served without a restart; a redirect keeps the query; an invalid rule is reported with its field.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandalone, type GatehouseProcess } from '../support/gatehouse-process.ts';
import { errorBody, send } from './helpers/http-client.ts';
import { eventually } from '../support/wait-for.ts';

const manifest = (doc: unknown): string => `${JSON.stringify(doc, null, 2)}\n`;
const KEY = 'pk-mock-5f4e3d2c1b0a9988';

function apiRoute(name: string, rules: unknown[], extra: Record<string, unknown> = {}): string {
  return manifest({ apiVersion: 'gatehouse.dev/v1alpha1', kind: 'ApiRoute', metadata: { name, namespace: 'default' }, spec: { ...extra, rules } });
}

async function setup(t: TestContext): Promise<{ dir: string; outside: string; start: () => Promise<GatehouseProcess> }> {
  const made: { dir?: string; outside?: string; gw?: GatehouseProcess } = {};
  t.after(async () => {
    await made.gw?.stop();
    for (const d of [made.dir, made.outside]) if (d !== undefined) await rm(d, { recursive: true, force: true });
  });
  const dir = (made.dir = await mkdtemp(join(tmpdir(), 'gatehouse-direct-')));
  const outside = (made.outside = await mkdtemp(join(tmpdir(), 'gatehouse-direct-outside-')));
  return { dir, outside, start: async () => (made.gw = await startStandalone(dir)) };
}

test('standalone: a mock behind an API-key authorizer, a maintenance page from a file (edits served), a redirect, problems reported', async (t) => {
  const { dir, outside, start } = await setup(t);
  await writeFile(
    join(dir, 'secret.yaml'),
    manifest({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'key-alice', namespace: 'default', labels: { 'gatehouse.dev/api-keys': 'mock' } }, stringData: { consumer: 'alice', key: KEY } }),
  );
  await writeFile(
    join(dir, 'authorizer.yaml'),
    manifest({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'Authorizer',
      metadata: { name: 'keys', namespace: 'default' },
      spec: { type: 'APIKey', apiKey: { secretSelector: { matchLabels: { 'gatehouse.dev/api-keys': 'mock' } } } },
    }),
  );
  await writeFile(join(dir, 'maintenance.html'), '<h1>Down for maintenance</h1><p>${request.path}</p>\n');
  await writeFile(join(outside, 'secret.txt'), 'not for clients');
  await symlink(join(outside, 'secret.txt'), join(dir, 'leak.txt'));
  await writeFile(
    join(dir, 'routes.yaml'),
    apiRoute('mocks', [
      {
        matches: [{ path: { type: 'Template', value: '/users/{id}' } }],
        authorizer: { name: 'keys' },
        directResponse: {
          status: 200,
          headers: { 'Content-Type': 'application/json', 'X-Mocked-For': '${consumer}' },
          body: { inline: '{"user":"${request.path}","caller":"${consumer}","note":"${request.header.x-note}"}' },
        },
      },
      {
        matches: [{ path: { type: 'Prefix', value: '/shop' } }],
        directResponse: { status: 503, headers: { 'content-type': 'text/html; charset=utf-8', 'Retry-After': '600' }, body: { file: 'maintenance.html' } },
      },
      { matches: [{ path: { type: 'Prefix', value: '/api/v1' } }], redirect: { statusCode: 308, replacePrefix: '/api/v2' } },
      { matches: [{ path: { type: 'Prefix', value: '/leak' } }], directResponse: { status: 200, body: { file: 'leak.txt' } } },
    ]) +
      '---\n' +
      apiRoute('broken', [{ matches: [{ path: { type: 'Prefix', value: '/broken' } }], directResponse: { status: 200 }, backends: [{ url: 'http://127.0.0.1:1' }] }]),
  );
  const gw = await start();

  const anonymous = await send(gw.port, '/users/42');
  assert.equal(anonymous.status, 401, 'the mock is behind the authorizer');
  errorBody(anonymous);
  const mocked = await send(gw.port, '/users/42', { headers: { 'x-api-key': KEY, 'x-note': 'say "hi"' } });
  assert.equal(mocked.status, 200);
  assert.equal(mocked.headers['x-mocked-for'], 'alice');
  assert.deepEqual(mocked.json(), { user: '/users/42', caller: 'alice', note: 'say "hi"' });

  const page = await send(gw.port, '/shop/cart');
  assert.equal(page.status, 503);
  assert.equal(page.headers['retry-after'], '600');
  assert.equal(page.body, '<h1>Down for maintenance</h1><p>/shop/cart</p>\n');
  await writeFile(join(dir, 'maintenance.html'), '<h1>Back at 10:00</h1>\n');
  await eventually(async () => (await send(gw.port, '/shop')).body === '<h1>Back at 10:00</h1>\n', 'the edited body file served', 10_000);

  const moved = await send(gw.port, '/api/v1/orders?page=2', { headers: { host: 'shop.example:8080' } });
  assert.equal(moved.status, 308);
  assert.equal(moved.headers.location, 'http://shop.example:8080/api/v2/orders?page=2');

  // A body file that leads outside the folder is never read: the rule answers 500, and the problem is reported.
  const leak = await send(gw.port, '/leak');
  assert.equal(leak.status, 500);
  assert.doesNotMatch(leak.body, /not for clients/);
  assert.equal(leak.json<{ error: string }>().error, 'direct response body unavailable');
  // The invalid rule is left out (404) and named in the problems the CLI prints.
  assert.equal((await send(gw.port, '/broken')).status, 404);
  await eventually(() => gw.stderr().includes('spec.rules[0]: a rule sets exactly one of backends, directResponse or redirect'), () => `the problem reported: ${gw.stderr()}`, 10_000);
  assert.match(gw.stderr(), /spec\.rules\[3\]\.directResponse\.body\.file: "leak\.txt" leads outside the config folder/);
});

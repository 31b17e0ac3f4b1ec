// Packages loaded on demand (proxy/runtime/on-demand-packages.ts): a table without body schemas never loads ajv, and
// a table with one loads it while the table is built, before it is served, so its routes are validated from their
// first request. One test runs the real `gatehouse proxy` on a table file with a body schema; one builds runtimes in
// a fresh Node process and reads which packages its module cache holds.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TableFile } from '../../proxy/subscribe/table-file.ts';
import { routingTableSchema } from '../../proxy/table/table-schema.ts';
import { send } from '../e2e/helpers/http-client.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';
import { startUpstream } from '../e2e/helpers/upstreams.ts';
import { startProxyProcess } from './proxy-process.ts';

const SCHEMA = { type: 'object', required: ['name'], properties: { name: { type: 'string' } }, additionalProperties: false };
const validation = { bodySchema: SCHEMA, requiredHeaders: [], requiredQuery: [] };
const JSON_HEADERS = { 'content-type': 'application/json' };

test('gatehouse proxy serving a table file with a body schema validates from its first request', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-on-demand-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bodies: string[] = [];
  const up = await startUpstream('pets', (req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(201, JSON_HEADERS).end('{"ok":true}');
    });
  });
  t.after(() => up.close());
  const path = join(dir, 'table.json');
  const file = new TableFile(path, {
    onError: (err) => {
      throw err;
    },
  });
  await file.recordTable(routingTableSchema.parse(table([route('pets', '/pets', ['be'], { requestValidation: validation })], [backend('be', [up.port])], 'v1')));
  await file.close();
  await writeFile(join(dir, 'token'), 'on-demand-test-token-0123456789', { mode: 0o600 });

  // Port 1: no controller answers; the proxy serves its file.
  const proxy = await startProxyProcess('on-demand', ['--controller', 'ws://127.0.0.1:1', '--token-file', join(dir, 'token'), '--table-file', path]);
  t.after(() => proxy.stop());

  const bad = await send(proxy.port, '/pets', { method: 'POST', headers: JSON_HEADERS, body: '{"name":1}' });
  assert.equal(bad.status, 400, bad.body);
  assert.equal(bad.json<{ errors: Array<{ in: string; path: string }> }>().errors[0]?.path, '/name');
  const good = await send(proxy.port, '/pets', { method: 'POST', headers: JSON_HEADERS, body: '{"name":"rex"}' });
  assert.equal(good.status, 201, good.body);
  assert.deepEqual(bodies, ['{"name":"rex"}'], 'only the valid body reached the upstream');
});

// A fresh process: the test runner's own imports must not have loaded ajv already.
const PROBE = `
import { buildRuntime } from './proxy/runtime/build-runtime.ts';
import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
const loaded = () => Object.keys(cache).some((k) => k.includes('/node_modules/ajv/'));
const be = { id: 'be', protocol: 'http', pathPrefix: '', endpoints: [{ host: '127.0.0.1', port: 9 }] };
const r = (id, extra) => ({ id, source: { namespace: 't', name: id, rule: 0, match: 0 }, hosts: [], path: { type: 'prefix', value: '/' + id }, methods: [], headers: [], query: [], requestHeaders: { set: [], add: [], remove: [] }, responseHeaders: { set: [], add: [], remove: [] }, backends: [{ backend: 'be', weight: 1 }], timeouts: { connectMs: 1000, requestMs: 1000, idleMs: 1000 }, retries: { attempts: 1 }, maxBodyBytes: 1024, ...extra });
const t = (routes) => ({ schema: 4, version: 'v' + routes.length, routes, backends: [be], authorizers: [], ratePolicies: [], certificates: [], tlsHosts: [] });
const plain = buildRuntime(t([r('a', {})]));
const afterPlain = loaded();
const withSchema = buildRuntime(t([r('a', {}), r('b', { requestValidation: ${JSON.stringify(validation)} })]));
process.stdout.write(JSON.stringify({ plain: plain.ok, afterPlain, withSchema: withSchema.ok, afterSchema: loaded(), schemas: withSchema.ok ? withSchema.runtime.bodySchemas.size : -1 }));
`;

test('ajv is loaded by the first table with a body schema, not before', async () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', PROBE], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  assert.deepEqual(JSON.parse(out), { plain: true, afterPlain: false, withSchema: true, afterSchema: true, schemas: 1 });
});

// The controller's /debug/table over a real HTTP connection to its admin server: the streamed body is byte for byte
// what JSON.stringify of the page gave before it was streamed, and parses to the compiled table. A client that reads
// slowly holds the writing back (the page is not built ahead of the socket), and one that goes away mid-body stops it:
// nothing more is serialised, and the server goes on answering.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createControllerAdmin } from '../../controller/admin/controller-admin.ts';
import { compile } from '../../controller/compile/compile.ts';
import type { ResourceStatus } from '../../controller/compile/compile-types.ts';
import type { CompiledState } from '../../controller/controller-main.ts';
import { apiRoute } from './compile-fixtures.ts';
import { REDACTED } from '../../controller/admin/debug-table-body.ts';
import { testCertificate } from '../support/test-certificates.ts';

let current: CompiledState | undefined;
let server: Server;
let port: number;

before(async () => {
  server = createControllerAdmin({
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
    informersSynced: () => true,
    current: () => current,
    isLeader: () => true,
    informerStates: () => [],
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

/** What the page was before streaming: one JSON.stringify of these fields. */
function pageText(state: CompiledState, leader: boolean): string {
  const body = { version: state.table.version, sequence: state.sequence, compiledAt: new Date(state.compiledAt).toISOString(), leader, table: state.table, statuses: state.statuses };
  return `${JSON.stringify(body)}\n`;
}

function compiled(routes: number): CompiledState {
  const resources = Array.from({ length: routes }, (_, i) =>
    apiRoute(`route-${i}`, {
      hosts: [`r${i}.example.com`],
      rules: [
        {
          matches: [{ path: { type: 'Prefix', value: `/v${i % 7}` } }],
          backends: [{ url: `http://backend-${i % 50}.internal:8080` }],
          requestHeaders: { set: { 'x-note': `é "quoted" \u2028 ${i}` } },
        },
      ],
    }),
  );
  // One the compiler refuses, so a False condition is among the statuses.
  resources.push(apiRoute('broken', { hosts: ['broken.example.com'], rules: [{ matches: [{ path: { type: 'Regex', value: '/(' } }], backends: [{ url: 'http://x.internal' }] }] }));
  const out = compile({ resources });
  return { table: out.table, statuses: out.statuses, sequence: 7, compiledAt: Date.parse('2030-01-02T03:04:05.678Z'), compileMs: 1 };
}

test('the streamed page is byte for byte the JSON of the page, and parses to the compiled table', async () => {
  const state = compiled(1_500);
  assert.ok(state.table.routes.length >= 1_500, `${state.table.routes.length} routes`);
  assert.ok(state.statuses.some((s) => s.conditions.some((c) => c.status === 'False')), 'a refused resource among the statuses');
  current = undefined;
  const none = await fetch(`http://127.0.0.1:${port}/debug/table`);
  assert.equal(none.status, 503);
  await none.text();

  current = state;
  const res = await fetch(`http://127.0.0.1:${port}/debug/table`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(res.headers.get('transfer-encoding'), 'chunked', 'streamed, not built whole first');
  const text = await res.text();
  assert.equal(text, pageText(state, true));
  const parsed = JSON.parse(text) as { version: string; table: unknown; statuses: unknown };
  assert.equal(parsed.version, state.table.version);
  assert.deepEqual(parsed.table, JSON.parse(JSON.stringify(state.table)));
  assert.deepEqual(parsed.statuses, JSON.parse(JSON.stringify(state.statuses)));

  const head = await fetch(`http://127.0.0.1:${port}/debug/table`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('a slow client holds the writing back; one that goes away stops it, and the server keeps serving', async () => {
  // ~30 MB of statuses, more than the loopback socket buffers hold, each counting when it is serialised.
  const total = 120_000;
  let serialised = 0;
  const message = 'm'.repeat(200);
  const statuses = Array.from({ length: total }, (_, i) => {
    const fields = { kind: 'ApiRoute', namespace: 'default', name: `route-${i}`, generation: 1, conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message }] };
    return { ...fields, toJSON: () => (serialised++, fields) } as unknown as ResourceStatus;
  });
  const big: CompiledState = { ...compiled(10), statuses };
  current = big;

  const serverSockets = new Map<number | undefined, Socket>();
  const track = (socket: Socket): void => void serverSockets.set(socket.remotePort, socket);
  server.on('connection', track);
  const req = get(`http://127.0.0.1:${port}/debug/table`, { agent: false });
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  server.off('connection', track);
  const serverSide = serverSockets.get(res.socket.localPort);
  assert.ok(serverSide !== undefined, 'the server side of the connection');
  req.on('error', () => {});
  res.on('error', () => {});
  assert.equal(res.statusCode, 200);
  await once(res, 'data');
  res.pause();
  await settle();
  const whilePaused = serialised;
  assert.ok(whilePaused < total, `the server waited for the socket: ${whilePaused}/${total} serialised`);
  // The event loop is not held by the page meanwhile.
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);

  req.destroy();
  await settle();
  const afterAbort = serialised;
  await settle();
  assert.equal(serialised, afterAbort, 'nothing serialised once the client is gone');
  assert.ok(afterAbort < total);
  assert.ok(serverSide.destroyed, 'the server closed its side');

  // The next request is served whole.
  const small = compiled(20);
  current = small;
  const next = await fetch(`http://127.0.0.1:${port}/debug/table`);
  assert.equal(await next.text(), pageText(small, true));
});

function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 300));
}

test('a certificate private key never appears on the page: the certificate does, its key is redacted', async () => {
  const pair = testCertificate('/CN=secret.example.com', ['DNS:secret.example.com']);
  const resources = [apiRoute('tls', { hosts: ['secret.example.com'], tls: { secretName: 'tls' }, rules: [{ backends: [{ url: 'http://x.internal' }] }] })];
  const secrets = [{ namespace: 'default', name: 'tls', labels: {}, data: { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem } }];
  const out = compile({ resources, secrets });
  assert.equal(out.table.certificates.length, 1, 'the certificate is in the table');
  current = { table: out.table, statuses: out.statuses, sequence: 1, compiledAt: 0, compileMs: 1 };
  const text = await (await fetch(`http://127.0.0.1:${port}/debug/table`)).text();
  const keyBody = pair.keyPem.split('\n')[1] as string;
  assert.ok(!text.includes(keyBody), 'no key material on the page');
  const page = JSON.parse(text) as { table: { certificates: Array<{ id: string; certPem: string; keyPem: string }> } };
  assert.deepEqual(page.table.certificates, [{ id: 'default/tls', certPem: pair.certPem, keyPem: REDACTED }]);
  assert.ok(!JSON.stringify(out.statuses).includes(keyBody), 'nor in the statuses');
});

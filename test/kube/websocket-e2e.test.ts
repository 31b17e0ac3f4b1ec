// A WebSocket through a real `gatehouse proxy` fed by the real controller (real API server): it stays open while the
// controller compiles and streams 100 changes to another ApiRoute (each one served before the next is made), and its
// own ApiRoute's deletion closes it with 1001 after the proxy's --websocket-drain. Every process is stopped by pid in
// after(), pass or fail.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { freePort } from '../../bench/ports.ts';
import { startEcho, type Upstream } from '../e2e/helpers/upstreams.ts';
import { startWsUpstream, type WsUpstream } from '../e2e/helpers/websocket-upstreams.ts';
import { Inbox, within } from '../e2e/helpers/websocket-clients.ts';
import { getThrough, metricValue, startProxyProcess, type ProxyProcess } from '../fleet/proxy-process.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { startController, waitControllerReady, type ControllerProcess } from './controller-process.ts';
import { waitFor } from '../support/wait-for.ts';

const TOKEN = 'websocket-e2e-token-3c2b1a0f9e8d';
const DRAIN_S = 1;
let cp: ControlPlane;
let controller: ControllerProcess | undefined;
let proxy: ProxyProcess | undefined;
let dir: string;
let wsUp: WsUpstream;
let http: Upstream;
let api: Agent;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-websocket-e2e-'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  wsUp = await startWsUpstream();
  http = await startEcho('http');
  const streamPort = await freePort();
  cp = await startControlPlane();
  api = new Agent({ connect: { ca: cp.caPem } });
  controller = await startController(cp.kubeconfigPath, ['--lease-duration', '3s', '--identity', 'ws-controller', '--stream-port', String(streamPort), '--stream-host', '127.0.0.1', '--stream-token-file', join(dir, 'token')]);
  await waitControllerReady(controller);
  proxy = await startProxyProcess('ws-proxy', ['--controller', `ws://127.0.0.1:${streamPort}`, '--token-file', join(dir, 'token'), '--websocket-drain', `${DRAIN_S}s`]);
});

after(async () => {
  await proxy?.stop(true);
  await controller?.stop();
  await cp?.stop();
  await api?.close();
  await wsUp?.close();
  await http?.close();
  await rm(dir, { recursive: true, force: true });
});

const apiRoute = (name: string, host: string, rule: Record<string, unknown>) => ({
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'ApiRoute',
  metadata: { name, namespace: 'default' },
  spec: { hosts: [host], rules: [rule] },
});

/** A merge patch straight to the API server (a kubectl process per change would take most of the test's time). */
async function patchOther(n: number): Promise<void> {
  const res = await undiciFetch(`${cp.server}/apis/gatehouse.dev/v1alpha1/namespaces/default/apiroutes/other`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${cp.token}`, 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({ spec: { rules: [{ backends: [{ url: `http://127.0.0.1:${http.port}` }], requestHeaders: { set: { 'x-change': String(n) } } }] } }),
    dispatcher: api,
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200, await res.text());
}

async function otherChange(): Promise<string | undefined> {
  const r = await getThrough(proxy!.port, 'other.example.com', '/');
  if (r.status !== 200) return undefined;
  return (JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-change'];
}

function openThroughProxy(): Promise<{ ws: WebSocket; inbox: Inbox; closed: Promise<{ code: number; reason: string }> } | undefined> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy!.port}/chat`, { headers: { host: 'chat.example.com' }, handshakeTimeout: 5_000 });
    const inbox = new Inbox(ws);
    const closed = new Promise<{ code: number; reason: string }>((res) => ws.once('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.on('error', () => resolve(undefined));
    ws.once('open', () => resolve({ ws, inbox, closed }));
  });
}

test('a WebSocket through a proxy stays open while the controller applies 100 changes to another ApiRoute; deleting its own closes it with 1001 after the drain', async () => {
  const r = await cp.kubectl(['apply', '-f', '-'], {
    stdin: [
      apiRoute('chat', 'chat.example.com', { matches: [{ path: { type: 'Prefix', value: '/chat' } }], websocket: { idleTimeout: '10m' }, backends: [{ url: `http://127.0.0.1:${wsUp.port}` }] }),
      apiRoute('other', 'other.example.com', { backends: [{ url: `http://127.0.0.1:${http.port}` }], requestHeaders: { set: { 'x-change': '0' } } }),
    ]
      .map((o) => stringify(o))
      .join('---\n'),
  });
  assert.equal(r.code, 0, r.stderr);
  const conn = await waitFor('the proxy upgrades /chat', () => openThroughProxy(), 60_000, 250);
  conn.ws.on('error', () => {});
  const accepted = await waitFor('chat Accepted', async () => {
    const got = await cp.kubectl(['get', 'apiroute', 'chat', '-n', 'default', '-o', 'jsonpath={.status.conditions[?(@.type=="Accepted")].message}']);
    return got.code === 0 && got.stdout !== '' ? got.stdout : undefined;
  });
  assert.doesNotMatch(accepted, /websocket/, 'websocket is enforced: Accepted no longer says otherwise');

  for (let n = 1; n <= 100; n++) {
    await patchOther(n);
    let seen: string | undefined;
    await waitFor(() => `the proxy serves change ${n} (it serves ${seen})`, async () => ((seen = await otherChange()) === String(n) ? true : undefined), 30_000, 50);
    if (n % 10 === 0) {
      conn.ws.send(`after change ${n}`);
      assert.equal((await conn.inbox.next(10_000)).data.toString(), `after change ${n}`);
    }
  }
  assert.equal(conn.ws.readyState, WebSocket.OPEN, 'open after 100 changes');
  assert.equal(await metricValue(proxy!.adminPort, 'gatehouse_websocket_connections{route="default/chat/r0/m0"}'), 1);

  const deletedAt = Date.now();
  assert.equal((await cp.kubectl(['delete', 'apiroute', 'chat', '-n', 'default'])).code, 0);
  const closed = await within(conn.closed, 60_000, 'close after the route is deleted');
  assert.deepEqual(closed, { code: 1001, reason: 'route removed' });
  assert.ok(Date.now() - deletedAt >= DRAIN_S * 1000, 'not before the drain');
});

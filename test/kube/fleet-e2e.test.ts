// One `gatehouse controller` (real API server) and five `gatehouse proxy` processes over the authenticated stream:
// apply → all five serve it and Programmed says 5/5; an endpoint change reaches them without a route rebuild; a
// proxy that cannot apply a table NACKs (visible on the status) and keeps its old table; no token → 401; the
// controller killed → proxies keep serving; a proxy restarted meanwhile serves from its file; the controller back →
// all resync. Every process is stopped by pid in after(), pass or fail.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadTableFile } from '../../proxy/subscribe/table-file.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { freePort } from '../../bench/ports.ts';
import { STREAM_SUBPROTOCOL } from '../../proxy/table/stream-protocol.ts';
import { startEcho, type Upstream } from '../e2e/helpers/upstreams.ts';
import { getThrough, metricValue, startProxyProcess, type ProxyProcess } from '../fleet/proxy-process.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { adminGet, startController, waitControllerReady, type ControllerProcess } from './controller-process.ts';
import { waitFor } from '../support/wait-for.ts';

const TOKEN = 'fleet-e2e-token-6f1d2c3b4a5e';
let cp: ControlPlane;
let controller: ControllerProcess | undefined;
let dir: string;
let streamPort: number;
let echoA: Upstream;
const proxies = new Map<string, ProxyProcess>();

const controllerArgs = (): string[] => [
  '--lease-duration', '3s', '--identity', 'fleet-controller',
  '--stream-port', String(streamPort), '--stream-host', '127.0.0.1', '--stream-token-file', join(dir, 'token'),
];

async function startFleetProxy(name: string, extra: string[] = []): Promise<ProxyProcess> {
  const p = await startProxyProcess(name, ['--controller', `ws://127.0.0.1:${streamPort}`, '--token-file', join(dir, 'token'), '--table-file', join(dir, `${name}.json`), ...extra]);
  proxies.set(name, p);
  return p;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-fleet-e2e-'));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  echoA = await startEcho('a');
  streamPort = await freePort();
  cp = await startControlPlane();
  controller = await startController(cp.kubeconfigPath, controllerArgs());
  await waitControllerReady(controller);
  // p5 is a small proxy: it refuses tables of more than 3 routes (an honest rejection, with a reason).
  await Promise.all(['p1', 'p2', 'p3', 'p4'].map((n) => startFleetProxy(n)));
  await startFleetProxy('p5', ['--max-routes', '3']);
});

after(async () => {
  await Promise.allSettled([...proxies.values()].map((p) => p.stop(true)));
  await controller?.stop();
  await cp?.stop();
  await echoA?.close();
  await rm(dir, { recursive: true, force: true });
});

async function apply(...objects: Record<string, unknown>[]): Promise<void> {
  const r = await cp.kubectl(['apply', '-f', '-'], { stdin: objects.map((o) => stringify(o)).join('---\n') });
  assert.equal(r.code, 0, `kubectl apply failed: ${r.stderr}`);
}

const route = (name: string, host: string, backend: Record<string, unknown>) => ({
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'ApiRoute',
  metadata: { name, namespace: 'default' },
  spec: { hosts: [host], rules: [{ matches: [{ path: { type: 'Prefix', value: '/' } }], backends: [backend] }] },
});
const urlRoute = (name: string, host: string) => route(name, host, { url: `http://127.0.0.1:${echoA.port}` });

// The API server refuses loopback addresses in EndpointSlices, so these point at TEST-NET addresses: the proxies'
// table files and counters show the update, not traffic.
const slice = (address: string) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'echo-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'echo' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [{ addresses: [address], conditions: { ready: true } }],
});

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** The endpoints of a backend in a proxy's table file (what it applied). */
async function fileEndpoints(name: string, backendId: string): Promise<string> {
  try {
    // The snapshot with its journal replayed, as the proxy itself reads it at start.
    const loaded = await loadTableFile(join(dir, `${name}.json`));
    if (!loaded.ok) return 'null';
    return JSON.stringify(loaded.table.backends.find((b) => b.id === backendId)?.endpoints ?? null);
  } catch {
    return 'null';
  }
}

async function programmed(name: string): Promise<Condition | undefined> {
  const r = await cp.kubectl(['get', 'apiroute', name, '-n', 'default', '-o', 'json']);
  if (r.code !== 0) return undefined;
  const obj = JSON.parse(r.stdout) as { status?: { conditions?: Condition[] } };
  return obj.status?.conditions?.find((c) => c.type === 'Programmed');
}

async function allServe(names: string[], host: string, upstream = 'a', timeoutMs = 20_000): Promise<void> {
  await waitFor(`${names.join(',')} serve ${host} from ${upstream}`, async () => {
    const replies = await Promise.all(names.map((n) => getThrough(proxies.get(n)!.port, host, '/probe')));
    return replies.every((r) => r.status === 200 && (JSON.parse(r.body) as { upstream: string }).upstream === upstream) ? true : undefined;
  }, timeoutMs);
}

const ALL = ['p1', 'p2', 'p3', 'p4', 'p5'];

test('apply → all five proxies serve the route; Programmed=True says 5/5; /debug/fleet lists them', async () => {
  await apply(urlRoute('one', 'one.example.com'));
  await allServe(ALL, 'one.example.com');
  const c = await waitFor('Programmed=True 5/5', async () => {
    const p = await programmed('one');
    return p?.status === 'True' ? p : undefined;
  });
  assert.match(c.message, /^5\/5 proxies serve generation 1$/);
  const fleet = JSON.parse((await adminGet(controller!.adminPort, '/debug/fleet')).body) as { proxies: Array<{ name: string; current: boolean; lastAckAt: string | null }> };
  assert.deepEqual(fleet.proxies.map((p) => p.name), ALL);
  assert.ok(fleet.proxies.every((p) => p.current && p.lastAckAt !== null));
  assert.ok(!JSON.stringify(fleet).includes(TOKEN), 'the token never appears on /debug/fleet');
  // The controller tells every proxy the fleet's size (a Global rate limit's fallback admits 1/5 per proxy).
  for (const n of ALL) {
    const port = proxies.get(n)!.adminPort;
    await waitFor(`${n} knows the fleet is 5`, async () => ((await metricValue(port, 'gatehouse_rate_limit_fleet_proxies')) === 5 ? true : undefined));
  }
  // The controller's fleet gauges: five proxies connected here, all on its table; each proxy names that version.
  const cport = controller!.adminPort;
  assert.equal(await metricValue(cport, 'gatehouse_controller_stream_proxies'), 5);
  assert.equal(await metricValue(cport, 'gatehouse_controller_fleet_proxies{table="current"}'), 5);
  assert.equal(await metricValue(cport, 'gatehouse_controller_fleet_proxies{table="other"}'), 0);
  const version = (await adminGet(cport, '/metrics')).body.match(/^gatehouse_controller_table_info\{version="([^"]+)"\} 1$/m)?.[1];
  assert.ok(version, 'the controller names the version it serves');
  for (const n of ALL) assert.equal(await metricValue(proxies.get(n)!.adminPort, `gatehouse_table_info{version="${version}"}`), 1, `${n} serves ${version}`);
});

test('an EndpointSlice change reaches every proxy as an endpoint update, without a route rebuild', async () => {
  await apply(
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
    slice('192.0.2.10'),
    route('svc', 'svc.example.com', { service: { name: 'echo', port: 80 } }),
  );
  const id = 'svc:default/echo:80';
  await waitFor('every proxy has the first endpoint', async () => {
    const got = await Promise.all(ALL.map((n) => fileEndpoints(n, id)));
    return got.every((e) => e === JSON.stringify([{ host: '192.0.2.10', port: 8080 }])) ? true : undefined;
  });
  const before = await Promise.all(ALL.map(async (n) => ({ full: await metricValue(proxies.get(n)!.adminPort, 'gatehouse_table_updates_total{kind="full"}'), endpoints: await metricValue(proxies.get(n)!.adminPort, 'gatehouse_table_updates_total{kind="endpoints"}') })));
  await apply(slice('192.0.2.20'));
  await waitFor('every proxy has the new endpoint', async () => {
    const got = await Promise.all(ALL.map((n) => fileEndpoints(n, id)));
    return got.every((e) => e === JSON.stringify([{ host: '192.0.2.20', port: 8080 }])) ? true : undefined;
  });
  for (const [i, n] of ALL.entries()) {
    const port = proxies.get(n)!.adminPort;
    assert.equal(await metricValue(port, 'gatehouse_table_updates_total{kind="full"}'), before[i]!.full, `${n} rebuilt its routes`);
    assert.equal(await metricValue(port, 'gatehouse_table_updates_total{kind="endpoints"}'), before[i]!.endpoints + 1, `${n} got one endpoint update`);
  }
});

test('a table a proxy rejects → NACK on the resource status, the old table still served there', async () => {
  // Two routes so far; two more make four, over p5's --max-routes 3.
  await apply(urlRoute('three', 'three.example.com'), urlRoute('four', 'four.example.com'));
  await allServe(['p1', 'p2', 'p3', 'p4'], 'four.example.com');
  const c = await waitFor('Programmed=False Rejected on four', async () => {
    const p = await programmed('four');
    return p?.reason === 'Rejected' ? p : undefined;
  });
  assert.equal(c.status, 'False');
  assert.match(c.message, /^4\/5 proxies serve generation 1; proxy p5 rejected table \S+: table has 4 routes; this proxy accepts at most 3 \(--max-routes\)$/);
  // p5 still serves the previous table: one proxy on another table than the controller's.
  assert.equal(await metricValue(controller!.adminPort, 'gatehouse_controller_fleet_proxies{table="other"}'), 1);
  assert.equal(await metricValue(controller!.adminPort, 'gatehouse_controller_fleet_proxies{table="current"}'), 4);
  assert.ok((await metricValue(proxies.get('p5')!.adminPort, 'gatehouse_table_applies_total{result="refused"}')) >= 1, 'p5 counts the refusal');
  // p5 keeps what it had: the old routes answer, the new one does not exist there.
  assert.equal((await getThrough(proxies.get('p5')!.port, 'one.example.com', '/')).status, 200);
  assert.equal((await getThrough(proxies.get('p5')!.port, 'four.example.com', '/')).status, 404);
  // Back under the limit: p5 applies the next table and every route is Programmed again.
  assert.equal((await cp.kubectl(['delete', 'apiroute', 'three', 'four', '-n', 'default'])).code, 0);
  await waitFor('Programmed=True 5/5 on one again', async () => ((await programmed('svc'))?.status === 'True' ? true : undefined));
});

test('a client without the token is refused at the upgrade with 401', async () => {
  for (const headers of [{}, { authorization: 'Bearer not-the-token-at-all' }]) {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${streamPort}`, STREAM_SUBPROTOCOL, { headers, handshakeTimeout: 5_000 });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('connected without the token')));
      ws.on('error', (err) => reject(err));
    });
    assert.equal(status, 401);
  }
});

test('controller killed → proxies keep serving; a proxy restarted meanwhile serves from its file; controller back → all resync', async () => {
  await controller!.stop();
  controller = undefined;
  await allServe(ALL, 'one.example.com');

  await proxies.get('p2')!.stop();
  const p2 = await startFleetProxy('p2');
  const ready = await adminGet(p2.adminPort, '/readyz');
  assert.equal(ready.status, 200, 'ready from its table file with no controller');
  await allServe(['p2'], 'one.example.com');
  assert.equal(await fileEndpoints('p2', 'svc:default/echo:80'), JSON.stringify([{ host: '192.0.2.20', port: 8080 }]));

  controller = await startController(cp.kubeconfigPath, controllerArgs());
  await apply(urlRoute('after', 'after.example.com'));
  await allServe(ALL, 'after.example.com', 'a', 30_000);
  await waitFor('Programmed=True 5/5 on after', async () => {
    const p = await programmed('after');
    return p?.status === 'True' && p.message.startsWith('5/5') ? true : undefined;
  }, 30_000);
});

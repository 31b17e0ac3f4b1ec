// Rotating the stream token and TLS certificate of a running `gatehouse controller` (real processes, real API server),
// through a directory updated the way the kubelet updates a mounted Secret (a new timestamped directory, then an
// atomic swap of the `..data` symlink). A new token: proxies with it connect, one with the old token still connects
// during the grace period and is refused after it, proxies already connected stay connected. A new certificate: new
// connections get it, proxies that trust it connect, open connections keep working. A malformed token or PEM is
// refused and the current one kept. Each reload shows on the controller's /metrics by kind and outcome. Every process
// is stopped by pid, pass or fail.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { z } from 'zod';
import { freePort } from '../../bench/ports.ts';
import { STREAM_SUBPROTOCOL } from '../../proxy/table/stream-protocol.ts';
import { startEcho, type Upstream } from '../e2e/helpers/upstreams.ts';
import { getThrough, metricValue, startProxyProcess, type ProxyProcess } from '../fleet/proxy-process.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { adminGet, startController, waitControllerReady, type ControllerProcess } from './controller-process.ts';
import { waitFor } from '../support/wait-for.ts';

const OLD_TOKEN = 'rotation-old-token-1a2b3c4d5e6f';
const NEW_TOKEN = 'rotation-new-token-6f5e4d3c2b1a';
const GRACE_S = 8;
const HAVE_OPENSSL = spawnSync('openssl', ['version']).status === 0;

/** A directory updated like a mounted Secret: files are symlinks into `..data`, which is swapped atomically. */
class SecretVolume {
  readonly dir: string;
  #generation = 0;
  #current: string | undefined;
  constructor(dir: string) {
    this.dir = dir;
  }
  async write(files: Record<string, string | Buffer>): Promise<void> {
    const next = `..gen_${++this.#generation}`;
    await mkdir(join(this.dir, next));
    for (const [name, content] of Object.entries(files)) await writeFile(join(this.dir, next, name), content, { mode: 0o600 });
    await symlink(next, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files)) await symlink(join('..data', name), join(this.dir, name)).catch(() => {});
    if (this.#current !== undefined) await rm(join(this.dir, this.#current), { recursive: true, force: true });
    this.#current = next;
  }
}

interface Pem {
  cert: Buffer;
  key: Buffer;
  fingerprint: string;
}

async function makeCertificate(dir: string, name: string): Promise<Pem> {
  const [keyFile, certFile] = [join(dir, `${name}.key`), join(dir, `${name}.crt`)];
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', `/CN=gatehouse-${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  const cert = await readFile(certFile);
  return { cert, key: await readFile(keyFile), fingerprint: new X509Certificate(cert).fingerprint256 };
}

let cp: ControlPlane;
let dir: string;
let echo: Upstream;
let controller: ControllerProcess | undefined;
let volume: SecretVolume;
let streamPort: number;
let certA: Pem;
let certB: Pem;
const proxies = new Map<string, ProxyProcess>();

const fleetPage = z.object({
  sent: z.object({ refused: z.number() }),
  credentials: z.object({ token: z.object({ rotatedAt: z.string().nullable(), previousAdmittedUntil: z.string().nullable() }), certificate: z.object({ fingerprint256: z.string() }).nullable() }),
  proxies: z.array(z.object({ name: z.string() })),
});
const fleet = async (): Promise<z.output<typeof fleetPage>> => fleetPage.parse(JSON.parse((await adminGet(controller!.adminPort, '/debug/fleet')).body));
const connected = async (): Promise<string[]> => (await fleet()).proxies.map((p) => p.name);
const reloads = (kind: 'token' | 'tls', outcome: 'ok' | 'error'): Promise<number> =>
  metricValue(controller!.adminPort, `gatehouse_controller_stream_credential_reloads_total{kind="${kind}",outcome="${outcome}"}`);
const loadedAt = (kind: 'token' | 'tls'): Promise<number> => metricValue(controller!.adminPort, `gatehouse_controller_stream_credential_last_reload_timestamp_seconds{kind="${kind}"}`);

/** A proxy whose token file holds `token` and which trusts `ca` (each proxy reads both once, at start). */
async function startRotationProxy(name: string, token: string, ca: Pem): Promise<ProxyProcess> {
  await writeFile(join(dir, `${name}.token`), token, { mode: 0o600 });
  await writeFile(join(dir, `${name}.ca`), ca.cert);
  const p = await startProxyProcess(name, ['--controller', `wss://127.0.0.1:${streamPort}`, '--token-file', join(dir, `${name}.token`), '--ca-file', join(dir, `${name}.ca`), '--table-file', join(dir, `${name}.json`)]);
  proxies.set(name, p);
  return p;
}

/** The HTTP status of a stream upgrade with this token: 101 when admitted. */
function upgradeStatus(token: string, ca: Pem): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${streamPort}`, STREAM_SUBPROTOCOL, { headers: { authorization: `Bearer ${token}` }, ca: ca.cert, handshakeTimeout: 5_000 });
    ws.on('upgrade', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

/** The fingerprint of the certificate a new TLS connection to the stream port gets. */
function servedFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: streamPort, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
      socket.end();
    });
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error('TLS connect timed out')));
  });
}

async function apply(name: string): Promise<void> {
  const body = { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'ApiRoute', metadata: { name, namespace: 'default' }, spec: { hosts: [`${name}.example.com`], rules: [{ backends: [{ url: `http://127.0.0.1:${echo.port}` }] }] } };
  const r = await cp.kubectl(['apply', '-f', '-'], { stdin: stringify(body) });
  assert.equal(r.code, 0, r.stderr);
}
const serves = (names: string[], host: string): Promise<true> =>
  waitFor(`${names.join(', ')} serve ${host}`, async () => ((await Promise.all(names.map((n) => getThrough(proxies.get(n)!.port, host, '/')))).every((r) => r.status === 200) ? true : undefined), 30_000);
const logged = (text: string, times = 1): Promise<true> =>
  waitFor(`the controller logs "${text}" ${times}×`, async () => (controller!.logs().split(text).length - 1 >= times ? true : undefined), 15_000);

before(async () => {
  // .ci/run installs openssl: without it this suite fails rather than passing with nothing tested.
  assert.ok(HAVE_OPENSSL, 'openssl is needed to make the test certificates (apt-get install openssl)');
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-rotation-'));
  certA = await makeCertificate(dir, 'a');
  certB = await makeCertificate(dir, 'b');
  await mkdir(join(dir, 'secret'));
  volume = new SecretVolume(join(dir, 'secret'));
  await volume.write({ token: `${OLD_TOKEN}\n`, 'tls.crt': certA.cert, 'tls.key': certA.key });
  echo = await startEcho('a');
  cp = await startControlPlane();
  streamPort = await freePort();
  controller = await startController(cp.kubeconfigPath, [
    '--lease-duration', '3s', '--identity', 'rotation-controller',
    '--stream-port', String(streamPort), '--stream-host', '127.0.0.1',
    '--stream-token-file', join(volume.dir, 'token'), '--stream-token-grace', `${GRACE_S}s`,
    '--stream-tls-cert', join(volume.dir, 'tls.crt'), '--stream-tls-key', join(volume.dir, 'tls.key'),
  ]);
  await waitControllerReady(controller!);
  await startRotationProxy('p-old', OLD_TOKEN, certA);
  await apply('first');
  await serves(['p-old'], 'first.example.com');
});

after(async () => {
  await Promise.allSettled([...proxies.values()].map((p) => p.stop(true)));
  await controller?.stop();
  await cp?.stop();
  await echo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('token rotated: the new token connects, the old one only during the grace period, open connections stay', async () => {
  assert.deepEqual([await reloads('token', 'ok'), await reloads('token', 'error')], [0, 0]);
  const loadedAtStart = await loadedAt('token');
  assert.ok(loadedAtStart > 0, 'the token loaded at start has a timestamp');
  await volume.write({ token: `${NEW_TOKEN}\n`, 'tls.crt': certA.cert, 'tls.key': certA.key });
  const rotated = await waitFor('the controller uses the new token', async () => {
    const f = await fleet();
    return f.credentials.token.previousAdmittedUntil !== null ? f.credentials.token : undefined;
  });
  assert.equal(await reloads('token', 'ok'), 1);
  assert.ok((await loadedAt('token')) > loadedAtStart);
  // During the grace period both tokens connect: a proxy with the new one, a proxy not yet given the new one.
  await Promise.all([startRotationProxy('p-new', NEW_TOKEN, certA), startRotationProxy('p-late', OLD_TOKEN, certA)]);
  await waitFor('p-new and p-late connected', async () => {
    const names = await connected();
    return names.includes('p-new') && names.includes('p-late') ? true : undefined;
  });
  assert.ok(Date.now() < Date.parse(rotated.previousAdmittedUntil!), 'p-late connected within the grace period (machine too slow otherwise)');

  // After it: the old token is refused at the upgrade, for a proxy process as for a bare client.
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(rotated.previousAdmittedUntil!) - Date.now() + 200)));
  assert.equal(await upgradeStatus(OLD_TOKEN, certA), 401);
  assert.equal(await upgradeStatus(NEW_TOKEN, certA), 101);
  const refusedBefore = (await fleet()).sent.refused;
  const stale = await startRotationProxy('p-stale', OLD_TOKEN, certA);
  await waitFor('p-stale refused with 401', async () => (/"status":401[^\n]*controller refused the stream/.test(stale.logs()) ? true : undefined));
  assert.ok((await fleet()).sent.refused > refusedBefore);
  assert.ok(!(await connected()).includes('p-stale'));

  // Connections opened with the old token were not cut: they get the next table.
  assert.deepEqual((await connected()).sort(), ['p-late', 'p-new', 'p-old']);
  await apply('second');
  await serves(['p-old', 'p-late', 'p-new'], 'second.example.com');

  // A malformed token file is refused and the current token kept.
  await volume.write({ token: 'too-short\n', 'tls.crt': certA.cert, 'tls.key': certA.key });
  await logged('new stream token refused; keeping the current token');
  assert.deepEqual([await reloads('token', 'ok'), await reloads('token', 'error')], [1, 1]);
  assert.equal(await upgradeStatus(NEW_TOKEN, certA), 101);
  assert.equal(await upgradeStatus('too-short', certA), 401);
  const metrics = (await adminGet(controller!.adminPort, '/metrics')).body;
  for (const secret of [OLD_TOKEN, NEW_TOKEN, 'too-short']) {
    assert.ok(!controller!.logs().includes(secret), 'no token in the logs');
    assert.ok(!metrics.includes(secret), 'no token in the metrics');
  }
  await stale.stop(true);
  proxies.delete('p-stale');
});

test('certificate rotated: new connections get it, proxies that trust it connect, open connections keep working', async () => {
  assert.equal(await servedFingerprint(), certA.fingerprint);
  const [okBefore, errorsBefore, loadedAtStart] = [await reloads('tls', 'ok'), await reloads('tls', 'error'), await loadedAt('tls')];
  await volume.write({ token: `${NEW_TOKEN}\n`, 'tls.crt': certB.cert, 'tls.key': certB.key });
  await waitFor('the stream serves certificate B', async () => ((await servedFingerprint()) === certB.fingerprint ? true : undefined));
  assert.equal((await fleet()).credentials.certificate?.fingerprint256, certB.fingerprint);
  assert.equal(await reloads('tls', 'ok'), okBefore + 1);
  assert.ok((await loadedAt('tls')) > loadedAtStart);

  await startRotationProxy('p-ca-b', NEW_TOKEN, certB);
  await waitFor('p-ca-b connected', async () => ((await connected()).includes('p-ca-b') ? true : undefined));
  // p-old trusts only A, but its connection predates the rotation and stays up.
  await apply('third');
  await serves(['p-old', 'p-ca-b'], 'third.example.com');
  assert.ok((await connected()).includes('p-old'));

  // Bad PEM, then a key that does not match the certificate: both refused, B still served.
  await volume.write({ token: `${NEW_TOKEN}\n`, 'tls.crt': 'not a certificate', 'tls.key': certB.key });
  await logged('new stream TLS certificate refused; keeping the current one', 1);
  await volume.write({ token: `${NEW_TOKEN}\n`, 'tls.crt': certA.cert, 'tls.key': certB.key });
  await logged('new stream TLS certificate refused; keeping the current one', 2);
  assert.equal(await servedFingerprint(), certB.fingerprint);
  // At least two: a poll that reads the certificate and the key either side of a volume swap is one more refusal.
  assert.ok((await reloads('tls', 'error')) >= errorsBefore + 2);
  assert.equal(await reloads('tls', 'ok'), okBefore + 1);
  assert.equal(await upgradeStatus(NEW_TOKEN, certB), 101);
});

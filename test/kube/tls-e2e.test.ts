// TLS termination in a cluster: a real API server, the real `gatehouse controller` and one real `gatehouse proxy` with
// --https-port, fed by the stream. A `kubernetes.io/tls` Secret (openssl-made, labelled gatehouse.dev/secret) named by
// an ApiRoute's spec.tls.secretName is served for its host by SNI and verified by real clients (node https, curl
// --resolve); a rotated Secret applied with kubectl reaches new handshakes while a keep-alive connection opened before
// keeps working; a mismatched pair is reported on the ApiRoute's ResolvedRefs condition while the last valid pair keeps
// serving; client certificates are required by another ApiRoute whose CA bundle is in a Secret. No private key shows
// up in a status, the controller's /debug pages, either process's logs or metrics; the proxy's table file (mode 0600)
// holds the keys it serves and no other. One control plane for the whole file; every process is stopped by pid in
// after(), pass or fail.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { journalPathOf, loadTableFile } from '../../proxy/subscribe/table-file.ts';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from '../../bench/ports.ts';
import type { Condition } from '../../crds/schemas/index.ts';
import { startEcho, type EchoReply, type Upstream } from '../e2e/helpers/upstreams.ts';
import { startProxyProcess, type ProxyProcess } from '../fleet/proxy-process.ts';
import { opensslHandshake } from '../support/openssl-handshake.ts';
import { caSecretYaml, testCa, testCertificate, tlsSecretYaml, type TestPair } from '../support/test-certificates.ts';
import { waitFor } from '../support/wait-for.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { adminGet, debugTable, startController, waitControllerReady, type ControllerProcess } from './controller-process.ts';
import { stopInOrder } from '../support/stop-in-order.ts';

const run = promisify(execFile);
const NS = 'default';
const API_HOST = 'api.tls-e2e.test';
const PARTNERS_HOST = 'partners.tls-e2e.test';
const STREAM_TOKEN = 'tls-e2e-stream-token-5d4c3b2a1f0e';

let cp: ControlPlane | undefined;
let controller: ControllerProcess | undefined;
let proxy: ProxyProcess | undefined;
let echo: Upstream | undefined;
let dir: string | undefined;

// Every certificate is issued by one serving CA, so the clients verify the chain and the name, as a real client would.
const servingCa = testCa('tls-e2e serving CA');
const first = testCertificate(`/CN=${API_HOST}`, [`DNS:${API_HOST}`], servingCa);
const second = testCertificate(`/CN=${API_HOST}`, [`DNS:${API_HOST}`], servingCa);
/** The certificate of the broken pair: it belongs to a key nobody sends, so `first`'s key does not match it. */
const stranger = testCertificate(`/CN=${API_HOST}`, [`DNS:${API_HOST}`], servingCa);
const partnersPair = testCertificate(`/CN=${PARTNERS_HOST}`, [`DNS:${PARTNERS_HOST}`], servingCa);
/** Labelled, but named by no ApiRoute: it must not reach the table. */
const unused = testCertificate('/CN=unused.tls-e2e.test', ['DNS:unused.tls-e2e.test'], servingCa);
const clientCa = testCa('tls-e2e client CA');
const alice = testCertificate('/CN=alice/O=Acme', ['URI:spiffe://acme/alice'], clientCa, { client: true });
const outsider = testCertificate('/CN=mallory', [], testCa('some other CA'), { client: true });

const fingerprint = (pair: TestPair): string => new X509Certificate(pair.certPem).fingerprint256;
const tableFile = (): string => join(dir as string, 'proxy-table.json');

function apiRoute(name: string, host: string, tls: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiRoute',
    metadata: { name, namespace: NS },
    spec: { hosts: [host], tls, rules: [{ matches: [{ path: { value: `/${name}` } }], backends: [{ url: `http://127.0.0.1:${(echo as Upstream).port}` }] }] },
  };
}

async function apply(yaml: string): Promise<void> {
  const r = await kube().kubectl(['apply', '-f', '-'], { stdin: yaml });
  assert.equal(r.code, 0, `kubectl apply failed: ${r.stderr}`);
}

function kube(): ControlPlane {
  assert.ok(cp, 'the control plane started');
  return cp;
}

function httpsPort(): number {
  assert.ok(typeof proxy?.httpsPort === 'number', 'the proxy serves HTTPS');
  return proxy.httpsPort;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-tls-e2e-'));
  await writeFile(join(dir, 'token'), `${STREAM_TOKEN}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'serving-ca.pem'), servingCa.certPem);
  echo = await startEcho('tls-upstream');
  const streamPort = await freePort();
  cp = await startControlPlane();
  // Debug logs on both: the leak checks read everything they print.
  controller = await startController(cp.kubeconfigPath, [
    '--lease-duration', '3s', '--identity', 'tls-controller', '--log-level', 'debug',
    '--stream-port', String(streamPort), '--stream-host', '127.0.0.1', '--stream-token-file', join(dir, 'token'),
  ]);
  await waitControllerReady(controller);
  proxy = await startProxyProcess('tls-proxy', [
    '--controller', `ws://127.0.0.1:${streamPort}`, '--token-file', join(dir, 'token'), '--table-file', tableFile(), '--https-port', '0', '--log-level', 'debug',
  ]);
  await apply(
    [
      tlsSecretYaml('api-cert', first, NS),
      tlsSecretYaml('partners-cert', partnersPair, NS),
      tlsSecretYaml('unused-cert', unused, NS),
      caSecretYaml('partners-ca', clientCa.certPem, NS),
      stringify(apiRoute('api', API_HOST, { secretName: 'api-cert' })),
      stringify(apiRoute('partners', PARTNERS_HOST, { secretName: 'partners-cert', clientCertificate: { caSecretName: 'partners-ca', mode: 'Required' } })),
    ].join('---\n'),
  );
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

// ---- clients --------------------------------------------------------------------------------------------------------

/** A verified handshake for `servername` (chain to the serving CA, and the name): the certificate's fingerprint, or null when refused. */
function handshake(servername: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: httpsPort(), servername, ca: servingCa.certPem });
    socket.setTimeout(5_000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert.fingerprint256);
    });
    socket.once('error', () => resolve(null));
  });
}

interface HttpsReply {
  status: number;
  body: string;
  /** The certificate the connection was made with. */
  peer: string;
  reusedSocket: boolean;
}

/** GET https://`host``path` through the proxy's HTTPS port, verified against the serving CA and the host name. */
function get(host: string, path: string, opts: { agent?: Agent; cert?: TestPair } = {}): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: httpsPort(),
        path,
        servername: host,
        headers: { host },
        ca: servingCa.certPem,
        ...(opts.cert && { cert: opts.cert.certPem, key: opts.cert.keyPem }),
        agent: opts.agent ?? false,
        timeout: 5_000,
      },
      (res) => {
        const peer = (res.socket as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate().fingerprint256;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, peer, reusedSocket: req.reusedSocket }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new Error(`https://${host}${path}: ${err.message}`)));
    req.end();
  });
}

const echoed = (r: HttpsReply): EchoReply => JSON.parse(r.body) as EchoReply;

// ---- status and the proxy's table ----------------------------------------------------------------------------------

async function apiRouteStatus(name: string): Promise<{ raw: string; conditions: Map<string, Condition> } | undefined> {
  const r = await kube().kubectl(['get', 'apiroute', name, '-n', NS, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const obj = JSON.parse(r.stdout) as { metadata: { generation: number }; status?: { conditions?: Condition[] } };
  const conditions = obj.status?.conditions ?? [];
  if (conditions.length === 0 || !conditions.every((c) => c.observedGeneration === obj.metadata.generation)) return undefined;
  return { raw: JSON.stringify(obj.status), conditions: new Map(conditions.map((c) => [c.type, c])) };
}

function waitForCondition(name: string, type: string, what: string, check: (c: Condition) => boolean): Promise<Condition> {
  return waitFor(`ApiRoute ${name}: ${what}`, async () => {
    const c = (await apiRouteStatus(name))?.conditions.get(type);
    return c !== undefined && check(c) ? c : undefined;
  });
}

/** Until the proxy serves the controller's current table (so what the proxy does reflects every Secret applied so far). */
async function proxyCaughtUp(): Promise<string> {
  return waitFor('the proxy serves the controller\'s table', async () => {
    const version = (await debugTable(controller!.adminPort))?.version;
    const ready = await fetch(`http://127.0.0.1:${proxy!.adminPort}/readyz`, { signal: AbortSignal.timeout(5_000) });
    return version !== undefined && (await ready.text()).startsWith(`ok ${version}`) ? version : undefined;
  });
}

// ---- the tests ------------------------------------------------------------------------------------------------------

test("an ApiRoute's kubernetes.io/tls Secret is served for its host by SNI (verified by node and curl --resolve) and routes to the upstream", async () => {
  await waitForCondition('api', 'ResolvedRefs', 'ResolvedRefs=True', (c) => c.status === 'True');
  await waitFor('the proxy serves the first certificate', async () => ((await handshake(API_HOST)) === fingerprint(first) ? true : undefined));

  const reply = await get(API_HOST, '/api/node');
  assert.equal(reply.status, 200, reply.body);
  assert.equal(echoed(reply).path, '/api/node');
  assert.equal(echoed(reply).headers['x-forwarded-proto'], 'https');

  const curl = await run('curl', ['-sS', '--cacert', join(dir as string, 'serving-ca.pem'), '--resolve', `${API_HOST}:${httpsPort()}:127.0.0.1`, `https://${API_HOST}:${httpsPort()}/api/curl`], { timeout: 10_000 });
  assert.equal((JSON.parse(curl.stdout) as EchoReply).path, '/api/curl', curl.stdout);

  assert.equal(await handshake('nothing.tls-e2e.test'), null, 'no default certificate: a name no ApiRoute has is refused');
  assert.equal(await handshake('unused.tls-e2e.test'), null, 'a Secret no ApiRoute names serves nothing');
});

test('client certificates required by an ApiRoute, CA bundle from a Secret: only that host asks for one; 403 JSON without, the identity upstream with one', async () => {
  await waitForCondition('partners', 'ResolvedRefs', 'ResolvedRefs=True', (c) => c.status === 'True');
  await waitFor('the partners host served', async () => ((await handshake(PARTNERS_HOST)) === fingerprint(partnersPair) ? true : undefined));

  const asked = await opensslHandshake(httpsPort(), PARTNERS_HOST, 'tls1_3');
  assert.ok(asked.certificateRequested, `the partners host sends a CertificateRequest\n${asked.output}`);
  assert.deepEqual(asked.caNames, ['CN = tls-e2e client CA']);
  const notAsked = await opensslHandshake(httpsPort(), API_HOST, 'tls1_3');
  assert.match(notAsked.subject, /CN = api\.tls-e2e\.test/, notAsked.output);
  assert.ok(!notAsked.certificateRequested, `a host without a client CA sends no CertificateRequest\n${notAsked.output}`);

  const none = await get(PARTNERS_HOST, '/partners/x');
  assert.equal(none.status, 403);
  assert.equal((JSON.parse(none.body) as { error: string }).error, 'client certificate required');
  assert.equal((await get(PARTNERS_HOST, '/partners/x', { cert: outsider })).status, 403, 'a certificate from another CA');

  const ok = await get(PARTNERS_HOST, '/partners/x', { cert: alice });
  assert.equal(ok.status, 200, ok.body);
  assert.match(echoed(ok).headers['x-forwarded-client-cert'] as string, /^Hash=[0-9a-f]{64};Subject="CN=alice,O=Acme";URI=spiffe:\/\/acme\/alice$/);
});

test('kubectl apply of a rotated Secret: new handshakes get the new certificate, a keep-alive connection opened before keeps working', async (t) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: servingCa.certPem });
  t.after(() => agent.destroy());
  const opened = await get(API_HOST, '/api/before', { agent });
  assert.equal(opened.status, 200);
  assert.equal(opened.peer, fingerprint(first));

  await apply(tlsSecretYaml('api-cert', second, NS));
  const applied = performance.now();
  await waitFor('new handshakes get the second certificate', async () => ((await handshake(API_HOST)) === fingerprint(second) ? true : undefined));
  t.diagnostic(`rotation seen by a new handshake ${Math.round(performance.now() - applied)} ms after kubectl apply returned`);

  const kept = await get(API_HOST, '/api/after', { agent });
  assert.equal(kept.status, 200, kept.body);
  assert.ok(kept.reusedSocket, 'the connection opened before the rotation was used again');
  assert.equal(kept.peer, fingerprint(first), 'and still speaks with the certificate it was made with');
  assert.equal(echoed(kept).path, '/api/after');
  const fresh = await get(API_HOST, '/api/fresh');
  assert.equal(fresh.status, 200);
  assert.equal(fresh.peer, fingerprint(second));
  await waitForCondition('api', 'ResolvedRefs', 'ResolvedRefs=True after the rotation', (c) => c.status === 'True');
});

test('a mismatched pair applied: ResolvedRefs names the problem, the last valid pair keeps serving; no key in statuses, /debug, logs or metrics; the table file (0600) holds only the served keys', async () => {
  await apply(tlsSecretYaml('api-cert', { certPem: stranger.certPem, keyPem: first.keyPem }, NS));
  const refs = await waitForCondition('api', 'ResolvedRefs', 'ResolvedRefs=False', (c) => c.status === 'False');
  assert.equal(refs.reason, 'InvalidCertificate');
  assert.equal(
    refs.message,
    'spec.tls.secretName: Secret default/api-cert: the private key in "tls.key" does not match the certificate in "tls.crt"; the last valid pair of this Secret keeps serving',
  );
  await proxyCaughtUp();
  assert.equal(await handshake(API_HOST), fingerprint(second), 'the last valid pair still serves');
  assert.equal((await get(API_HOST, '/api/still')).status, 200);

  // What a leak would look like: any line of a key's PEM body (in a PEM, or JSON-escaped), or the PEM base64-encoded
  // as the API server hands out Secret data (from the middle: every PEM of a P-256 key starts the same).
  const keys = { first, second, stranger, partners: partnersPair, unused, alice };
  const leaks = (text: string): string[] =>
    Object.entries(keys).flatMap(([name, pair]) => {
      const lines = pair.keyPem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
      const found = lines.some((l) => text.includes(l)) || text.includes(Buffer.from(pair.keyPem).toString('base64').slice(100, 164));
      return found ? [name] : [];
    });

  const statuses = await kube().kubectl(['get', 'apiroutes', '-n', NS, '-o', 'json']);
  assert.equal(statuses.code, 0, statuses.stderr);
  const items = (JSON.parse(statuses.stdout) as { items: Array<{ status?: unknown }> }).items;
  assert.deepEqual(leaks(JSON.stringify(items.map((i) => i.status))), [], 'no key in a status');

  const debug = (await adminGet(controller!.adminPort, '/debug/table')).body;
  const certs = (JSON.parse(debug) as { table: { certificates: Array<{ id: string; certPem: string; keyPem: string }> } }).table.certificates;
  assert.deepEqual(certs.map((c) => c.id), ['default/api-cert', 'default/partners-cert'], 'only the Secrets an ApiRoute names reach the table');
  assert.equal(certs[0]?.certPem, second.certPem, 'the last valid pair is in the table');
  assert.ok(certs.every((c) => c.keyPem === '[redacted]'), '/debug/table shows that there is a key, not what it is');
  for (const page of ['/debug/table', '/debug/fleet', '/debug/informers', '/metrics']) {
    assert.deepEqual(leaks((await adminGet(controller!.adminPort, page)).body), [], `no key in the controller's ${page}`);
  }
  assert.deepEqual(leaks((await adminGet(proxy!.adminPort, '/metrics')).body), [], "no key in the proxy's /metrics");
  assert.deepEqual(leaks(controller!.logs()), [], "no key in the controller's logs");
  assert.deepEqual(leaks(proxy!.logs()), [], "no key in the proxy's logs");

  // The proxy keeps the keys it serves on disk (to serve after a restart without the controller): the table its files
  // hold (snapshot + journal, as it reads them at start) has the served keys only. A rotated-out key stays in the
  // snapshot until the next compaction (docs/fleet.md); both files are its owner's only.
  const fileText = await waitFor('the table file holds the second key', async () => {
    const loaded = await loadTableFile(tableFile());
    const text = loaded.ok ? JSON.stringify(loaded.table.certificates) : '';
    return leaks(text).includes('second') ? text : undefined;
  });
  assert.equal((await stat(tableFile())).mode & 0o777, 0o600, 'the table file is readable by its owner only');
  const journal = journalPathOf(tableFile());
  if (existsSync(journal)) assert.equal((await stat(journal)).mode & 0o777, 0o600, 'the journal is readable by its owner only');
  assert.deepEqual(leaks(fileText).sort(), ['partners', 'second'], 'the table on disk holds the served keys only');
});

// Backend TLS end to end: ApiRoutes and CA Secrets compiled by the real compiler, served by a gateway in this process,
// forwarding to real https (and wss) upstreams whose certificates the test makes. What the upstream saw of the TLS
// connection (the SNI name) comes back in its answer.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../controller/compile/compile.ts';
import { tableDelta } from '../../controller/distribute/table-delta.ts';
import type { CompileInput, SecretInfo } from '../../controller/compile/compile-types.ts';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';
import { startStandalone } from '../support/gatehouse-process.ts';
import { makePki, type TestCert, type TestPki } from '../support/test-pki.ts';
import { eventually } from '../support/wait-for.ts';
import { apiRoute } from '../unit/compile-fixtures.ts';
import { metricValue } from './helpers/authorizers.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { errorBody, send } from './helpers/http-client.ts';
import { startTlsUpstream, type TlsReply, type TlsUpstream } from './helpers/tls-upstreams.ts';
import { mustOpen, mustRefuse } from './helpers/websocket-clients.ts';

const ERRORS = 'gatehouse_upstream_errors_total';

let pki: TestPki;
let ca: TestCert;
let otherCa: TestCert;
/** For localhost, api.test and 127.0.0.1, signed by `ca`; the same names signed by `otherCa`. */
let apiCert: TestCert;
let apiCertOther: TestCert;
let svcCert: TestCert;
let selfSigned: TestCert;

before(async () => {
  pki = await makePki();
  ca = await pki.ca('Backend TLS Test CA');
  otherCa = await pki.ca('Another CA');
  apiCert = await pki.server('api', ['localhost', 'api.test', '127.0.0.1'], ca);
  apiCertOther = await pki.server('api', ['localhost', 'api.test', '127.0.0.1'], otherCa);
  svcCert = await pki.server('users', ['users.default.svc'], ca);
  selfSigned = await pki.server('self', ['localhost', '127.0.0.1']);
});

after(() => pki.remove());

function caSecret(name: string, cert: TestCert): SecretInfo {
  return { namespace: 'default', name, labels: {}, data: { 'ca.crt': cert.certPem } };
}

type Rule = { path: string; backend: Record<string, unknown>; websocket?: Record<string, unknown> };

/** One ApiRoute "r" with a Prefix rule per entry, compiled with these Secrets (and Services); statuses too. */
function compiled(rules: Rule[], secrets: SecretInfo[], extra: Partial<CompileInput> = {}): { table: RoutingTable; conditions: Array<{ type: string; status: string; message: string }> } {
  const spec = {
    rules: rules.map((r) => ({ matches: [{ path: { type: 'Prefix', value: r.path } }], backends: [r.backend], ...(r.websocket && { websocket: r.websocket }) })),
  };
  const out = compile({ resources: [apiRoute('r', spec)], secrets, ...extra });
  return { table: out.table, conditions: out.statuses[0]?.conditions ?? [] };
}

async function upstream(t: TestContext, cert: TestCert): Promise<TlsUpstream> {
  const up = await startTlsUpstream(cert);
  t.after(() => up.close());
  return up;
}

test('a CA from a Secret verifies the upstream, SNI is the URL host; a CA that did not sign it is refused: 502, kind tls, no retry', async (t) => {
  const up = await upstream(t, apiCert);
  const { table, conditions } = compiled(
    [
      { path: '/good', backend: { url: `https://localhost:${up.port}`, tls: { caSecretName: 'upstream-ca' } } },
      { path: '/wrong', backend: { url: `https://localhost:${up.port}`, tls: { caSecretName: 'other-ca' } } },
      { path: '/system', backend: { url: `https://localhost:${up.port}` } },
    ],
    [caSecret('upstream-ca', ca), caSecret('other-ca', otherCa)],
  );
  assert.equal(conditions.find((c) => c.type === 'ResolvedRefs')?.status, 'True');
  assert.equal(new Set(table.backends.map((b) => b.id)).size, 3, 'one address, three verifications: three backends');
  const gw = await startTestGateway(t, table);

  const good = await send(gw.port, '/good/x');
  assert.equal(good.status, 200, good.body);
  assert.equal(good.json<TlsReply>().servername, 'localhost');

  for (const [path, route] of [['/wrong', 'default/r/r1/m0'], ['/system', 'default/r/r2/m0']] as const) {
    const before = up.connections();
    const refused = await send(gw.port, path);
    assert.equal(refused.status, 502, `${path}: ${refused.body}`);
    assert.equal(errorBody(refused).error, 'upstream TLS handshake failed');
    assert.ok(!refused.body.includes('BEGIN'), 'no certificate material in the answer');
    assert.equal(await metricValue(gw.adminPort, ERRORS, { route, kind: 'tls' }), 1, `${path}: counted as a tls error`);
    assert.equal(up.connections() - before, 1, `${path}: one handshake, not retried`);
  }
});

test('serverName is sent as SNI and verified; a name the certificate lacks is refused; an IP URL is checked against the IP, without SNI', async (t) => {
  const up = await upstream(t, apiCert);
  const { table } = compiled(
    [
      { path: '/named', backend: { url: `https://127.0.0.1:${up.port}`, tls: { caSecretName: 'upstream-ca', serverName: 'api.test' } } },
      { path: '/unnamed', backend: { url: `https://127.0.0.1:${up.port}`, tls: { caSecretName: 'upstream-ca', serverName: 'other.test' } } },
      { path: '/ip', backend: { url: `https://127.0.0.1:${up.port}`, tls: { caSecretName: 'upstream-ca' } } },
    ],
    [caSecret('upstream-ca', ca)],
  );
  const gw = await startTestGateway(t, table);
  const named = await send(gw.port, '/named');
  assert.equal(named.status, 200, named.body);
  assert.equal(named.json<TlsReply>().servername, 'api.test');
  assert.equal(named.json<TlsReply>().host, `127.0.0.1:${up.port}`, 'the Host header stays the URL host');
  const unnamed = await send(gw.port, '/unnamed');
  assert.equal(unnamed.status, 502);
  assert.equal(errorBody(unnamed).error, 'upstream TLS handshake failed');
  const ip = await send(gw.port, '/ip');
  assert.equal(ip.status, 200, ip.body);
  assert.equal(ip.json<TlsReply>().servername, false);
});

test('a Service spoken to over TLS is verified as <svc>.<ns>.svc, whatever Host the client sent', async (t) => {
  const up = await upstream(t, svcCert);
  const { table } = compiled([{ path: '/users', backend: { service: { name: 'users', port: 443 }, tls: { caSecretName: 'upstream-ca' } } }], [caSecret('upstream-ca', ca)], {
    services: [{ namespace: 'default', name: 'users', ports: [{ name: 'https', port: 443, targetPort: up.port }] }],
    endpointSlices: [{ namespace: 'default', serviceName: 'users', ports: [{ name: 'https', port: up.port }], endpoints: [{ addresses: ['127.0.0.1'], ready: true }] }],
  });
  const gw = await startTestGateway(t, table);
  for (const host of ['public.example.com', 'other.example.org']) {
    const r = await send(gw.port, '/users', { headers: { host } });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json<TlsReply>().servername, 'users.default.svc');
    assert.equal(r.json<TlsReply>().host, host, "the client's Host is forwarded");
  }
  assert.equal(up.connections(), 1, 'one connection for both: SNI does not follow the Host header');
});

test('insecureSkipVerify accepts a self-signed upstream only when set, and the status says so', async (t) => {
  const up = await upstream(t, selfSigned);
  const { table, conditions } = compiled(
    [
      { path: '/strict', backend: { url: `https://localhost:${up.port}` } },
      { path: '/off', backend: { url: `https://localhost:${up.port}`, tls: { insecureSkipVerify: false } } },
      { path: '/insecure', backend: { url: `https://localhost:${up.port}`, tls: { insecureSkipVerify: true } } },
    ],
    [],
  );
  assert.match(conditions.find((c) => c.type === 'Accepted')?.message ?? '', /spec\.rules\[2\]\.backends\[0\]\.tls\.insecureSkipVerify is true: the backend's certificate is not verified/);
  const gw = await startTestGateway(t, table);
  assert.equal((await send(gw.port, '/strict')).status, 502);
  assert.equal((await send(gw.port, '/off')).status, 502);
  const insecure = await send(gw.port, '/insecure');
  assert.equal(insecure.status, 200, insecure.body);
  assert.equal(insecure.json<TlsReply>().servername, 'localhost', 'SNI is still sent');
});

test('a missing or unparsable CA Secret fails closed: a condition names the field and Secret, the rule answers 503', async (t) => {
  const up = await upstream(t, apiCert);
  const broken: SecretInfo = { namespace: 'default', name: 'broken-ca', labels: {}, data: { 'ca.crt': 'not a certificate' } };
  const { table, conditions } = compiled(
    [
      { path: '/missing', backend: { url: `https://localhost:${up.port}`, tls: { caSecretName: 'nope' } } },
      { path: '/broken', backend: { url: `https://localhost:${up.port}`, tls: { caSecretName: 'broken-ca' } } },
    ],
    [broken],
  );
  const refs = conditions.find((c) => c.type === 'ResolvedRefs');
  assert.equal(refs?.status, 'False');
  assert.match(refs?.message ?? '', /spec\.rules\[0\]\.backends\[0\]\.tls\.caSecretName: Secret default\/nope not found/);
  assert.match(refs?.message ?? '', /spec\.rules\[1\]\.backends\[0\]\.tls\.caSecretName: Secret default\/broken-ca key "ca\.crt" holds no PEM certificate/);
  const gw = await startTestGateway(t, table);
  for (const path of ['/missing', '/broken']) assert.equal((await send(gw.port, path)).status, 503);
  assert.equal(up.connections(), 0, 'never forwarded with weaker verification');
});

test('CA rotation: an unchanged setting keeps its pool, a changed CA replaces it and new connections use the new CA', async (t) => {
  const up = await upstream(t, apiCert);
  const rule = { path: '/api', backend: { url: `https://localhost:${up.port}`, tls: { caSecretName: 'upstream-ca' } } };
  const other = { path: '/other', backend: { url: `https://localhost:${up.port}` } };
  const gw = await startTestGateway(t, compiled([rule], [caSecret('upstream-ca', ca)]).table);
  assert.equal((await send(gw.port, '/api')).status, 200);
  assert.equal((await send(gw.port, '/api')).status, 200);
  assert.equal(up.connections(), 1, 'keep-alive');

  // Another rule added: the backend's settings did not change, its pool (and warm connection) is kept.
  assert.ok(gw.applyTable(compiled([rule, other], [caSecret('upstream-ca', ca)]).table).ok);
  assert.equal((await send(gw.port, '/api')).status, 200);
  assert.equal(up.connections(), 1, 'the pool was kept across the table swap');

  // The upstream moves to a certificate of another CA: the pool verifying against the old CA refuses it.
  up.useCertificate(apiCertOther);
  assert.equal((await send(gw.port, '/api')).status, 502);

  // The Secret is rotated to the new CA: a new pool, verifying against it.
  assert.ok(gw.applyTable(compiled([rule, other], [caSecret('upstream-ca', otherCa)]).table).ok);
  const after = await send(gw.port, '/api');
  assert.equal(after.status, 200, after.body);

  // And back: connections made under the rotated CA are not reused by a pool of the old one.
  up.useCertificate(apiCert);
  const rotated = compiled([rule, other], [caSecret('upstream-ca', otherCa)]).table;
  assert.ok(gw.applyTable(rotated).ok);
  assert.equal((await send(gw.port, '/api')).status, 502, 'a new handshake, against the rotated CA');

  // The fleet's way: the rotation back arrives as a delta (the backend changed, no route did), and works the same.
  const delta = tableDelta(rotated, compiled([rule, other], [caSecret('upstream-ca', ca)]).table);
  assert.ok(delta !== null && delta.routes.changed.length === 0 && delta.backends.changed.length === 1);
  assert.ok((await gw.applyDelta(delta)).ok);
  assert.equal((await send(gw.port, '/api')).status, 200);
});

test('a WebSocket upgrade to a wss:// upstream is verified like requests, piped and parsed', async (t) => {
  const up = await upstream(t, apiCert);
  const ws = { maxDuration: '1m' };
  const parsed = { maxMessageSize: '1Ki' };
  const { table } = compiled(
    [
      { path: '/ws/good', backend: { url: `https://localhost:${up.port}`, tls: { caSecretName: 'upstream-ca' } }, websocket: ws },
      { path: '/ws/parsed', backend: { url: `https://127.0.0.1:${up.port}`, tls: { caSecretName: 'upstream-ca', serverName: 'api.test' } }, websocket: parsed },
      { path: '/ws/wrong', backend: { url: `https://localhost:${up.port}`, tls: { caSecretName: 'other-ca' } }, websocket: ws },
      { path: '/ws/wrong-parsed', backend: { url: `https://localhost:${up.port}`, tls: { caSecretName: 'other-ca' } }, websocket: parsed },
    ],
    [caSecret('upstream-ca', ca), caSecret('other-ca', otherCa)],
  );
  const gw = await startTestGateway(t, table);
  for (const [path, sni] of [['/ws/good', 'localhost'], ['/ws/parsed', 'api.test']] as const) {
    const before = up.servernames.length;
    const open = await mustOpen(gw.port, path);
    open.ws.send('hello');
    assert.equal((await open.messages.next()).data.toString(), 'hello');
    assert.equal(up.servernames[before], sni, `${path}: SNI`);
    open.ws.close();
  }
  for (const path of ['/ws/wrong', '/ws/wrong-parsed']) {
    const refused = await mustRefuse(gw.port, path);
    assert.equal(refused.status, 502, path);
    assert.equal(refused.json.error, 'upstream TLS handshake failed', path);
  }
});

/** A manifest as YAML (JSON is YAML). */
const manifest = (doc: unknown): string => `${JSON.stringify(doc, null, 2)}\n`;

const secretManifest = (cert: TestCert): string =>
  manifest({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'upstream-ca', namespace: 'default' }, stringData: { 'ca.crt': cert.certPem } });

test('gatehouse standalone: a CA Secret manifest in the config folder verifies the backend; rewriting it rotates the CA', async (t) => {
  const up = await upstream(t, apiCert);
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-backend-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'secret.yaml'), secretManifest(ca));
  await writeFile(
    join(dir, 'route.yaml'),
    manifest({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiRoute',
      metadata: { name: 'r', namespace: 'default' },
      spec: {
        rules: [
          { matches: [{ path: { value: '/api' } }], backends: [{ url: `https://localhost:${up.port}`, tls: { caSecretName: 'upstream-ca' } }] },
          { matches: [{ path: { value: '/missing' } }], backends: [{ url: `https://localhost:${up.port}`, tls: { caSecretName: 'nope' } }] },
        ],
      },
    }),
  );
  const gw = await startStandalone(dir);
  t.after(() => gw.stop());

  const ok = await send(gw.port, '/api');
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.json<TlsReply>().servername, 'localhost');
  assert.equal((await send(gw.port, '/missing')).status, 503);

  up.useCertificate(apiCertOther);
  const refused = await send(gw.port, '/api');
  assert.equal(refused.status, 502);
  assert.equal(errorBody(refused).error, 'upstream TLS handshake failed');
  assert.equal(await metricValue(gw.adminPort, ERRORS, { route: 'default/r/r0/m0', kind: 'tls' }), 1);
  assert.ok(!gw.stderr().includes('BEGIN CERTIFICATE') && !gw.stdout().includes('BEGIN CERTIFICATE'), 'no certificate in the logs');

  await writeFile(join(dir, 'secret.yaml'), secretManifest(otherCa));
  let last = 0;
  await eventually(
    async () => (last = (await send(gw.port, '/api')).status) === 200,
    () => `GET /api after the CA Secret was rotated: last ${last}`,
  );
});

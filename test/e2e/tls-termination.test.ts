// TLS termination end to end, in standalone mode (manifests and Secret manifests in a watched folder), with real
// clients: node's https and tls, curl --resolve, ws over wss://; certificates made by openssl for each test.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect, type PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { WebSocket, type ClientOptions } from 'ws';
import { runStandalone, type Standalone } from '../../cli/commands/standalone.ts';
import { send } from './helpers/http-client.ts';
import { startEcho, type EchoReply } from './helpers/upstreams.ts';
import { startWsUpstream } from './helpers/websocket-upstreams.ts';
import { opensslHandshake } from '../support/openssl-handshake.ts';
import { caSecretYaml, testCa, testCertificate, tlsSecretYaml, type TestPair } from '../support/test-certificates.ts';
import { eventually, waitFor } from '../support/wait-for.ts';

const run = promisify(execFile);

interface Harness {
  gw: Standalone;
  dir: string;
  logs: string[];
  problems: string[];
  write(file: string, text: string): void;
}

async function startHarness(t: TestContext, files: Record<string, string>, opts: { defaultTlsSecret?: { namespace: string; name: string } } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, text: string): void => writeFileSync(join(dir, file), text);
  for (const [file, text] of Object.entries(files)) write(file, text);
  const logs: string[] = [];
  const problems: string[] = [];
  const gw = await runStandalone({
    configDir: dir,
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    https: { port: 0 },
    httpsRedirectPort: 8443,
    ...(opts.defaultTlsSecret && { defaultTlsSecret: opts.defaultTlsSecret }),
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) }),
    problems: { write: (text: string) => problems.push(text) } as unknown as NodeJS.WritableStream,
  });
  t.after(() => gw.close());
  return { gw, dir, logs, problems, write };
}

function route(name: string, hosts: string[], upstreamPort: number, tls: string, extra = ''): string {
  return `apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata:
  name: ${name}
  namespace: default
spec:
  hosts: [${hosts.map((h) => JSON.stringify(h)).join(', ')}]
${tls === '' ? '' : `  tls:\n${tls}\n`}  rules:
    - matches: [{ path: { value: /${name} } }]
      backends: [{ url: http://127.0.0.1:${upstreamPort} }]
${extra}`;
}

/** The certificate the server answers `servername` with (null: the handshake failed); `sni: null` sends none. */
function handshake(port: number, servername: string | null): Promise<PeerCertificate | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...(servername !== null && { servername }), rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', () => resolve(null));
  });
}

const fingerprint = (pair: TestPair): string => new X509Certificate(pair.certPem).fingerprint256;

interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  reusedSocket: boolean;
  peer: string;
}

function get(port: number, host: string, path: string, opts: { ca?: string; cert?: TestPair; agent?: Agent; headers?: Record<string, string> } = {}): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: host,
        headers: { host, ...opts.headers },
        ...(opts.ca ? { ca: opts.ca, checkServerIdentity: () => undefined } : { rejectUnauthorized: false }),
        ...(opts.cert && { cert: opts.cert.certPem, key: opts.cert.keyPem }),
        agent: opts.agent ?? false,
      },
      (res) => {
        const peer = (res.socket as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate().fingerprint256;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            reusedSocket: req.reusedSocket,
            peer,
          }),
        );
      },
    );
    req.on('error', (err) => reject(new Error(`${host}${path}: ${err.message}`)));
    req.end();
  });
}

test('SNI picks the exact host, then a one-label wildcard, then the default; no match without a default is refused; curl --resolve agrees', async (t) => {
  const echo = await startEcho('up');
  t.after(() => echo.close());
  const exact = testCertificate('/CN=api.example.com', ['DNS:api.example.com']);
  const wildcard = testCertificate('/CN=*.example.com', ['DNS:*.example.com']);
  const fallback = testCertificate('/CN=default', ['DNS:default.test']);
  const files = {
    'routes.yaml': [route('api', ['api.example.com'], echo.port, '    secretName: api-cert'), route('wild', ['*.example.com'], echo.port, '    secretName: wild-cert')].join('---\n'),
    'secrets.yaml': [tlsSecretYaml('api-cert', exact), tlsSecretYaml('wild-cert', wildcard), tlsSecretYaml('fallback', fallback)].join('---\n'),
  };
  const h = await startHarness(t, files);
  const port = h.gw.httpsPort as number;
  assert.equal((await handshake(port, 'api.example.com'))?.fingerprint256, fingerprint(exact));
  assert.equal((await handshake(port, 'API.Example.com'))?.fingerprint256, fingerprint(exact), 'names compare case-insensitively');
  assert.equal((await handshake(port, 'shop.example.com'))?.fingerprint256, fingerprint(wildcard));
  assert.equal(await handshake(port, 'a.b.example.com'), null, 'a wildcard matches one label only; nothing else matches and there is no default');
  assert.equal(await handshake(port, 'other.test'), null);
  assert.equal(await handshake(port, null), null, 'a client sending no SNI gets no certificate without a default');

  // A request through: the route answers over TLS, X-Forwarded-Proto says https.
  const reply = await get(port, 'api.example.com', '/api/x', { ca: exact.certPem });
  assert.equal(reply.status, 200);
  assert.equal((JSON.parse(reply.body) as EchoReply).headers['x-forwarded-proto'], 'https');

  // curl: SNI from the URL's host, resolved to the gateway; verified against the certificate itself.
  const caFile = join(h.dir, '..', `ca-${process.pid}.pem`);
  writeFileSync(caFile, exact.certPem);
  t.after(() => rmSync(caFile, { force: true }));
  // curl negotiates HTTP/2 by ALPN: SNI picks the certificate the same way for either protocol.
  const curl = await run('curl', ['-sS', '--cacert', caFile, '--resolve', `api.example.com:${port}:127.0.0.1`, `https://api.example.com:${port}/api/curl`]);
  assert.equal((JSON.parse(curl.stdout) as EchoReply).path, '/api/curl', curl.stdout);
  await assert.rejects(run('curl', ['-sS', '-k', '--resolve', `nothing.test:${port}:127.0.0.1`, `https://nothing.test:${port}/api/curl`]), 'no certificate for an unknown name');
});

test('the default certificate answers unknown names and clients without SNI; a route naming a missing Secret is refused, not answered with the default', async (t) => {
  const echo = await startEcho('up');
  t.after(() => echo.close());
  const fallback = testCertificate('/CN=default', ['DNS:default.test']);
  const files = {
    'routes.yaml': [route('plain', ['plain.test'], echo.port, ''), route('lost', ['lost.test'], echo.port, '    secretName: not-there')].join('---\n'),
    'secrets.yaml': tlsSecretYaml('fallback', fallback),
  };
  const h = await startHarness(t, files, { defaultTlsSecret: { namespace: 'default', name: 'fallback' } });
  const port = h.gw.httpsPort as number;
  assert.equal((await handshake(port, 'plain.test'))?.fingerprint256, fingerprint(fallback), 'a host without spec.tls gets the default');
  assert.equal((await handshake(port, 'unknown.test'))?.fingerprint256, fingerprint(fallback));
  assert.equal((await handshake(port, null))?.fingerprint256, fingerprint(fallback), 'no SNI: the default');
  assert.equal(await handshake(port, 'lost.test'), null, 'its own Secret is missing: refused rather than a wrong certificate');
  assert.match(h.problems.join(''), /spec\.tls\.secretName: Secret default\/not-there not found \(in a cluster the controller reads only Secrets labelled gatehouse\.dev\/secret\); the handshakes of its hosts are refused/);
  assert.equal((await get(port, 'plain.test', '/plain/x')).status, 200);
});

test('rotation: a changed Secret is served to new handshakes at once while a keep-alive connection opened before goes on; a broken pair is reported and the previous one keeps serving; keys never reach the logs or problems', async (t) => {
  const echo = await startEcho('up');
  t.after(() => echo.close());
  const first = testCertificate('/CN=api.example.com', ['DNS:api.example.com']);
  const second = testCertificate('/CN=api.example.com', ['DNS:api.example.com']);
  const h = await startHarness(t, { 'routes.yaml': route('api', ['api.example.com'], echo.port, '    secretName: api-cert'), 'secret.yaml': tlsSecretYaml('api-cert', first) });
  const port = h.gw.httpsPort as number;
  const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  t.after(() => agent.destroy());
  const before = await get(port, 'api.example.com', '/api/1', { agent });
  assert.equal(before.peer, fingerprint(first));

  h.write('secret.yaml', tlsSecretYaml('api-cert', second));
  await eventually(async () => (await handshake(port, 'api.example.com'))?.fingerprint256 === fingerprint(second), 'new handshakes get the new certificate');
  const kept = await get(port, 'api.example.com', '/api/2', { agent });
  assert.equal(kept.status, 200);
  assert.ok(kept.reusedSocket, 'the connection opened before the rotation was used again');
  assert.equal(kept.peer, fingerprint(first), 'and it still speaks with the certificate it was made with');

  // A pair whose key belongs to another certificate: reported, and the last valid pair keeps serving.
  const stranger = testCertificate('/CN=api.example.com', ['DNS:api.example.com']);
  h.write('secret.yaml', tlsSecretYaml('api-cert', { certPem: stranger.certPem, keyPem: first.keyPem }));
  await waitFor('the broken pair reported', () => (/does not match the certificate/.test(h.problems.join('')) ? true : undefined));
  assert.match(h.problems.join(''), /spec\.tls\.secretName: Secret default\/api-cert: the private key in "tls\.key" does not match the certificate in "tls\.crt"; the last valid pair of this Secret keeps serving/);
  assert.equal((await handshake(port, 'api.example.com'))?.fingerprint256, fingerprint(second));

  for (const pair of [first, second, stranger]) {
    const keyBody = pair.keyPem.split('\n')[1] as string;
    assert.ok(!h.logs.join('').includes(keyBody), 'no private key in the logs');
    assert.ok(!h.problems.join('').includes(keyBody), 'no private key in the problems');
  }
});

test('https redirect: 301 or 308 on the plain port to the https URL (path and query kept) before any policy; served on the TLS port', async (t) => {
  const echo = await startEcho('up');
  t.after(() => echo.close());
  const pair = testCertificate('/CN=shop.test', ['DNS:shop.test']);
  const files = {
    'routes.yaml': [
      route('moved', ['shop.test'], echo.port, '    secretName: shop-cert\n    httpsRedirect: {}', '      authorizer: { name: nobody }\n'),
      route('kept', ['keep.test'], echo.port, '    httpsRedirect: { statusCode: 308 }'),
    ].join('---\n'),
    'secret.yaml': tlsSecretYaml('shop-cert', pair),
  };
  const h = await startHarness(t, files);
  const moved = await send(h.gw.port, '/moved/a?b=1', { headers: { host: 'shop.test' } });
  assert.equal(moved.status, 301);
  assert.equal(moved.headers.location, 'https://shop.test:8443/moved/a?b=1');
  const kept = await send(h.gw.port, '/kept', { method: 'POST', headers: { host: 'keep.test:8080' } });
  assert.equal(kept.status, 308, 'a 308 keeps the method and body');
  assert.equal(kept.headers.location, 'https://keep.test:8443/kept');
  const served = await get(h.gw.httpsPort as number, 'shop.test', '/moved/a');
  assert.equal(served.status, 500, 'on the TLS port the route is served (its authorizer is missing: fail closed)');
});

test('client certificates: required and optional per host, verified against that host CA only; the identity goes upstream in a header the client cannot forge', async (t) => {
  const echo = await startEcho('up');
  t.after(() => echo.close());
  const ca1 = testCa('CA one');
  const ca2 = testCa('CA two');
  const alice = testCertificate('/CN=alice/O=Acme', ['URI:spiffe://acme/alice'], ca1, { client: true });
  const bob = testCertificate('/CN=bob', [], ca2, { client: true });
  const serverPair = testCertificate('/CN=*.mtls.test', ['DNS:*.mtls.test']);
  const files = {
    'routes.yaml': [
      route('strict', ['strict.mtls.test'], echo.port, '    secretName: server\n    clientCertificate: { caSecretName: ca-one }'),
      route('loose', ['loose.mtls.test'], echo.port, '    secretName: server\n    clientCertificate: { caSecretName: ca-two, mode: Optional }'),
      route('open', ['open.mtls.test'], echo.port, '    secretName: server'),
    ].join('---\n'),
    'secrets.yaml': [tlsSecretYaml('server', serverPair), caSecretYaml('ca-one', ca1.certPem), caSecretYaml('ca-two', ca2.certPem)].join('---\n'),
  };
  const h = await startHarness(t, files);
  const port = h.gw.httpsPort as number;
  const forged = { 'x-forwarded-client-cert': 'Subject="CN=root"' };

  // Only a host with a CA bundle asks for a certificate (a CertificateRequest naming that host's CA, and no other);
  // the others send none, so a browser shows no certificate picker there. Both TLS versions: the request is turned on
  // per connection, inside the SNI callback.
  for (const version of ['tls1_2', 'tls1_3'] as const) {
    const strictHello = await opensslHandshake(port, 'strict.mtls.test', version);
    assert.ok(strictHello.certificateRequested, `${version}: strict asks for a certificate\n${strictHello.output}`);
    assert.deepEqual(strictHello.caNames, ['CN = CA one'], `${version}: naming its own CA only`);
    const looseHello = await opensslHandshake(port, 'loose.mtls.test', version);
    assert.ok(looseHello.certificateRequested, `${version}: an optional host asks too`);
    assert.deepEqual(looseHello.caNames, ['CN = CA two']);
    const openHello = await opensslHandshake(port, 'open.mtls.test', version);
    assert.match(openHello.subject, /CN = \*\.mtls\.test/, `${version}: the handshake completed\n${openHello.output}`);
    assert.ok(!openHello.certificateRequested, `${version}: a host without a CA sends no CertificateRequest\n${openHello.output}`);
    assert.deepEqual(openHello.caNames, []);
  }

  const ok = await get(port, 'strict.mtls.test', '/strict', { cert: alice, headers: forged });
  assert.equal(ok.status, 200);
  const seen = (JSON.parse(ok.body) as EchoReply).headers['x-forwarded-client-cert'] as string;
  assert.match(seen, /^Hash=[0-9a-f]{64};Subject="CN=alice,O=Acme";URI=spiffe:\/\/acme\/alice$/);
  const line = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request' && l.path === '/strict');
  assert.equal(line?.consumer, 'alice', 'the certificate subject is the consumer in the access log');

  const none = await get(port, 'strict.mtls.test', '/strict');
  assert.equal(none.status, 403);
  assert.equal(JSON.parse(none.body).error, 'client certificate required');
  assert.equal((await get(port, 'strict.mtls.test', '/strict', { cert: bob })).status, 403, "a certificate from another host's CA is refused");
  // SNI of a host with CA two, Host of the route that trusts CA one: verified against the wrong CA, refused.
  const crossed = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/strict', servername: 'loose.mtls.test', headers: { host: 'strict.mtls.test' }, rejectUnauthorized: false, cert: bob.certPem, key: bob.keyPem, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(crossed, 403);

  const optionalNone = await get(port, 'loose.mtls.test', '/loose', { headers: forged });
  assert.equal(optionalNone.status, 200);
  assert.equal((JSON.parse(optionalNone.body) as EchoReply).headers['x-forwarded-client-cert'], undefined, "the client's own header never passes");
  const optionalBob = await get(port, 'loose.mtls.test', '/loose', { cert: bob });
  assert.match((JSON.parse(optionalBob.body) as EchoReply).headers['x-forwarded-client-cert'] as string, /Subject="CN=bob"/);
  const optionalAlice = await get(port, 'loose.mtls.test', '/loose', { cert: alice });
  assert.equal((JSON.parse(optionalAlice.body) as EchoReply).headers['x-forwarded-client-cert'], undefined, 'an unverified certificate gives no identity');

  const open = await get(port, 'open.mtls.test', '/open', { cert: alice, headers: forged });
  assert.equal(open.status, 200);
  assert.equal((JSON.parse(open.body) as EchoReply).headers['x-forwarded-client-cert'], undefined);
  const plain = await send(h.gw.port, '/strict', { headers: { host: 'strict.mtls.test' } });
  assert.equal(plain.status, 403, 'a route requiring a client certificate is never served on the plain port');
});

test('a WebSocket through the TLS port (wss://)', async (t) => {
  const up = await startWsUpstream();
  t.after(() => up.close());
  const pair = testCertificate('/CN=chat.test', ['DNS:chat.test']);
  const h = await startHarness(t, {
    'routes.yaml': route('chat', ['chat.test'], up.port, '    secretName: chat-cert').replace('      backends:', '      websocket: { enabled: true }\n      backends:'),
    'secret.yaml': tlsSecretYaml('chat-cert', pair),
  });
  // `servername` is passed on to https.request (SNI), which ws's option type does not list.
  const options = { servername: 'chat.test', headers: { host: 'chat.test' }, ca: pair.certPem, checkServerIdentity: () => undefined } as unknown as ClientOptions;
  const ws = new WebSocket(`wss://127.0.0.1:${h.gw.httpsPort}/chat`, options);
  t.after(() => ws.terminate());
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send('hello over tls');
  assert.match(await echoed, /hello over tls/);
});

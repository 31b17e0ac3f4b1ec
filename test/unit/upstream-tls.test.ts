// How the proxy verifies https upstreams (proxy/runtime/upstream-tls.ts) and what the compiler lets through as a CA
// bundle (controller/compile/ca-bundle.ts), against real TLS servers with certificates made here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { certificatesOf } from '../../controller/compile/ca-bundle.ts';
import { upstreamTls, upstreamTlsKey } from '../../proxy/runtime/upstream-tls.ts';
import type { TableBackendTls } from '../../proxy/table/table-schema.ts';
import { makePki, type TestCert, type TestPki } from '../support/test-pki.ts';

let pki: TestPki;
let ca: TestCert;
let signed: Server;
let selfSigned: Server;

function listen(cert: TestCert): Promise<Server> {
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('ok'));
  server.on('tlsClientError', () => {});
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (s: Server): number => (s.address() as AddressInfo).port;

before(async () => {
  pki = await makePki();
  ca = await pki.ca('Unit Test CA');
  signed = await listen(await pki.server('api', ['api.test'], ca));
  selfSigned = await listen(await pki.server('self', ['api.test']));
});

after(async () => {
  for (const s of [signed, selfSigned]) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await pki.remove();
});

/** A TLS handshake with the proxy's options for `settings`: "ok", or the error code that ended it. */
function handshake(port: number, settings: TableBackendTls): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...upstreamTls(settings).connect });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve('ok');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

test('without a CA the system store decides: a self-signed or privately signed upstream is refused', async () => {
  assert.equal(await handshake(portOf(selfSigned), { serverName: 'api.test', insecureSkipVerify: false }), 'DEPTH_ZERO_SELF_SIGNED_CERT');
  assert.equal(await handshake(portOf(signed), { serverName: 'api.test', insecureSkipVerify: false }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('with a CA only that CA is trusted, and the configured name is what the certificate must carry', async () => {
  assert.equal(await handshake(portOf(signed), { caPem: ca.certPem, serverName: 'api.test', insecureSkipVerify: false }), 'ok');
  assert.equal(await handshake(portOf(signed), { caPem: ca.certPem, serverName: 'other.test', insecureSkipVerify: false }), 'ERR_TLS_CERT_ALTNAME_INVALID');
  const otherCa = await pki.ca('Other CA');
  assert.equal(await handshake(portOf(signed), { caPem: otherCa.certPem, serverName: 'api.test', insecureSkipVerify: false }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('insecureSkipVerify accepts what verification refuses', async () => {
  assert.equal(await handshake(portOf(selfSigned), { serverName: 'other.test', insecureSkipVerify: true }), 'ok');
});

test('"system" includes the operating system store: a CA installed there (SSL_CERT_FILE) verifies with no CA given', async () => {
  const module = fileURLToPath(new URL('../../proxy/runtime/upstream-tls.ts', import.meta.url));
  const script = `
    import { connect } from 'node:tls';
    const { upstreamTls } = await import(${JSON.stringify(module)});
    const socket = connect({ host: '127.0.0.1', port: ${portOf(signed)}, ...upstreamTls({ serverName: 'api.test', insecureSkipVerify: false }).connect });
    socket.once('secureConnect', () => { console.log('ok'); socket.destroy(); });
    socket.once('error', (err) => console.log(err.code));`;
  const emptyDir = join(pki.dir, 'no-certs');
  await mkdir(emptyDir, { recursive: true });
  // The OS store of this child is just the test CA; NODE_EXTRA_CA_CERTS is cleared so only the OS store can vouch.
  const env = { ...process.env, SSL_CERT_FILE: ca.certFile, SSL_CERT_DIR: emptyDir, NODE_EXTRA_CA_CERTS: '' };
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { env, timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout.trim()))),
  );
  assert.equal(out, 'ok');
});

test('pool keys: the same settings give the same key, another CA, name or verification choice another', () => {
  const base: TableBackendTls = { caPem: ca.certPem, serverName: 'api.test', insecureSkipVerify: false };
  assert.equal(upstreamTlsKey(base), upstreamTlsKey({ ...base }));
  const keys = new Set([base, { ...base, caPem: undefined }, { ...base, serverName: 'b.test' }, { ...base, caPem: undefined, insecureSkipVerify: true }].map(upstreamTlsKey));
  assert.equal(keys.size, 4);
  assert.ok(!upstreamTlsKey(base).includes('BEGIN'), 'the key holds a hash of the CA, not the CA');
});

test('an IP server name sends no SNI and is checked against the IP SANs', async () => {
  const ipServer = await listen(await pki.server('ip', ['127.0.0.1'], ca));
  try {
    const tls = upstreamTls({ caPem: ca.certPem, serverName: '127.0.0.1', insecureSkipVerify: false });
    assert.equal(tls.servername, undefined);
    assert.equal(await handshake(portOf(ipServer), { caPem: ca.certPem, serverName: '127.0.0.1', insecureSkipVerify: false }), 'ok');
    assert.equal(await handshake(portOf(ipServer), { caPem: ca.certPem, serverName: '127.0.0.2', insecureSkipVerify: false }), 'ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    ipServer.closeAllConnections();
    await new Promise((resolve) => ipServer.close(resolve));
  }
});

test('CA bundles: only certificates are kept, re-encoded; a block that does not parse or no certificate is an error naming no content', () => {
  const withKey = `${ca.certPem}-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n`;
  const kept = certificatesOf(withKey);
  assert.equal(typeof kept, 'string');
  assert.ok(!(kept as string).includes('PRIVATE KEY'));
  assert.equal((kept as string).match(/BEGIN CERTIFICATE/g)?.length, 1);
  assert.deepEqual(certificatesOf('-----BEGIN CERTIFICATE-----\nc2VjcmV0\n-----END CERTIFICATE-----\n'), { error: 'holds a certificate that does not parse (PEM block 1)' });
  assert.deepEqual(certificatesOf('just text'), { error: 'holds no PEM certificate' });
  assert.equal((certificatesOf(ca.certPem + ca.certPem) as string).match(/BEGIN CERTIFICATE/g)?.length, 2);
});

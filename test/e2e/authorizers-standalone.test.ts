// Authorizers as a user runs them: the real `gatehouse standalone` CLI on a folder holding Authorizers, the Secrets
// they read and an ApiRoute using them, in front of a real echo upstream. Editing the Secrets' files changes who
// gets in, without a restart.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { startStandalone, type GatehouseProcess } from '../support/gatehouse-process.ts';
import { AUDIENCE, ISSUER, mint, testKey, type TestKey } from '../policy/jwt-fixtures.ts';
import { errorBody, send } from './helpers/http-client.ts';
import { startEcho, type EchoReply, type Upstream } from './helpers/upstreams.ts';
import { eventually } from '../support/wait-for.ts';

/** One revocation must show within this (the folder is re-read within about a second of a change). */
const PROPAGATION_MS = 5_000;

/** A manifest as YAML (JSON is YAML). */
const manifest = (doc: unknown): string => `${JSON.stringify(doc, null, 2)}\n`;

function apiRoute(upstreamPort: number, rules: Array<{ path: string; authorizer: string }>): string {
  return manifest({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiRoute',
    metadata: { name: 'shop', namespace: 'default' },
    spec: {
      rules: rules.map((r) => ({
        matches: [{ path: { type: 'Prefix', value: r.path } }],
        backends: [{ url: `http://127.0.0.1:${upstreamPort}` }],
        authorizer: { name: r.authorizer },
      })),
    },
  });
}

function keySecret(name: string, consumer: string, key: string): string {
  return manifest({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'default', labels: { 'gatehouse.dev/api-keys': 'partners' } },
    stringData: { consumer, key },
  });
}

/** A config folder and an echo upstream; the gateway is started once the files are written. All gone after the test. */
async function setup(t: TestContext): Promise<{ dir: string; upstreamPort: number; start: () => Promise<GatehouseProcess> }> {
  const made: { up?: Upstream; dir?: string; gw?: GatehouseProcess } = {};
  // One hook, in order: the gateway, then what it reads and forwards to.
  t.after(async () => {
    await made.gw?.stop();
    if (made.dir !== undefined) await rm(made.dir, { recursive: true, force: true });
    await made.up?.close();
  });
  const up = (made.up = await startEcho('up'));
  const dir = (made.dir = await mkdtemp(join(tmpdir(), 'gatehouse-authorizers-')));
  const start = async (): Promise<GatehouseProcess> => (made.gw = await startStandalone(dir));
  return { dir, upstreamPort: up.port, start };
}

test('standalone: an APIKey Authorizer reads labelled Secrets; rewriting or deleting the Secret revokes its key', async (t) => {
  const { dir, upstreamPort, start } = await setup(t);
  const firstKey = 'pk-1a2b3c4d5e6f7a8b9c0d';
  const secondKey = 'pk-9f8e7d6c5b4a39281706';
  await writeFile(join(dir, 'secret-alice.yaml'), keySecret('key-alice', 'alice', firstKey));
  await writeFile(
    join(dir, 'authorizer.yaml'),
    manifest({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'Authorizer',
      metadata: { name: 'partner-keys', namespace: 'default' },
      spec: { type: 'APIKey', apiKey: { secretSelector: { matchLabels: { 'gatehouse.dev/api-keys': 'partners' } }, consumerHeader: 'X-Partner' } },
    }),
  );
  await writeFile(join(dir, 'route.yaml'), apiRoute(upstreamPort, [{ path: '/orders', authorizer: 'partner-keys' }]));
  const gw = await start();
  const withKey = (key: string | undefined): Promise<number> =>
    send(gw.port, '/orders', { headers: key === undefined ? {} : { 'x-api-key': key } }).then((r) => r.status);

  const ok = await send(gw.port, '/orders/1', { headers: { 'x-api-key': firstKey, 'x-partner': 'admin' } });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.json<EchoReply>().headers['x-partner'], 'alice');
  const wrong = await send(gw.port, '/orders', { headers: { 'x-api-key': secondKey } });
  assert.equal(wrong.status, 401);
  assert.equal(errorBody(wrong).error, 'invalid credentials');
  assert.equal(await withKey(undefined), 401);

  // The Secret rewritten with another key: the old key is refused, the new one admitted.
  await writeFile(join(dir, 'secret-alice.yaml'), keySecret('key-alice', 'alice', secondKey));
  await eventually(async () => (await withKey(firstKey)) === 401, 'the replaced key to be refused', PROPAGATION_MS);
  assert.equal(await withKey(secondKey), 200);

  // The Secret deleted: no key is left.
  await unlink(join(dir, 'secret-alice.yaml'));
  await eventually(async () => (await withKey(secondKey)) === 401, 'the deleted Secret\'s key to be refused', PROPAGATION_MS);
  assert.equal(await withKey(firstKey), 401);

  // The access log (stdout) names the consumer and never holds a key.
  assert.match(gw.stdout(), /"consumer":"alice"/);
  for (const key of [firstKey, secondKey]) assert.ok(!gw.stdout().includes(key) && !gw.stderr().includes(key), 'no key in the output');
});

test('standalone: a JWT Authorizer with jwks.secretRef verifies tokens signed by the Secret\'s key (private members in the Secret)', async (t) => {
  const { dir, upstreamPort, start } = await setup(t);
  // The Secret holds the full private JWK, as a careless operator might put it: only its public part may be used.
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'signing-1', alg: 'RS256', use: 'sig' };
  assert.ok(typeof privateJwk.d === 'string', 'the Secret holds private members');
  const key: TestKey = { alg: 'RS256', kid: 'signing-1', privateKey, publicKey, jwk: privateJwk };
  const stranger = await testKey('RS256', 'signing-1');
  await writeFile(
    join(dir, 'jwks-secret.yaml'),
    manifest({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'signing-keys', namespace: 'default' }, stringData: { 'jwks.json': JSON.stringify({ keys: [privateJwk] }) } }),
  );
  await writeFile(
    join(dir, 'authorizer.yaml'),
    manifest({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'Authorizer',
      metadata: { name: 'idp', namespace: 'default' },
      spec: {
        type: 'JWT',
        jwt: {
          issuer: ISSUER,
          audiences: [AUDIENCE],
          jwks: { secretRef: { name: 'signing-keys', key: 'jwks.json' } },
          algorithms: ['RS256'],
          claimsToHeaders: [{ claim: 'tenant', header: 'X-Tenant' }],
        },
      },
    }),
  );
  await writeFile(join(dir, 'route.yaml'), apiRoute(upstreamPort, [{ path: '/account', authorizer: 'idp' }]));
  const gw = await start();

  const token = await mint(key, { sub: 'frank', tenant: 'acme' });
  const ok = await send(gw.port, '/account', { headers: { authorization: `Bearer ${token}`, 'x-consumer': 'admin' } });
  assert.equal(ok.status, 200, `${ok.body}\n${gw.stderr()}`);
  const headers = ok.json<EchoReply>().headers;
  assert.equal(headers['x-consumer'], 'frank');
  assert.equal(headers['x-tenant'], 'acme');

  const forged = await send(gw.port, '/account', { headers: { authorization: `Bearer ${await mint(stranger, { sub: 'mallory' })}` } });
  assert.equal(forged.status, 401);
  assert.equal(forged.headers['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token"');
  const missing = await send(gw.port, '/account');
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['www-authenticate'], 'Bearer realm="gatehouse"');
  assert.ok(!gw.stdout().includes(token.split('.')[2] as string), 'no token in the output');
});

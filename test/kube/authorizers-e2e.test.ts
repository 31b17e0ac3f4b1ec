// Authorizers enforced end to end: a real API server, one `gatehouse controller` with the stream, one real `gatehouse
// proxy` subscribed to it, one echo upstream on loopback. A JWT Authorizer whose JWKS is in a Secret (401 / 200 with
// x-consumer = sub / 403 without the route's scope); an APIKey Authorizer over labelled Secrets (a deleted Secret's
// key is refused within one propagation; ResolvedRefs names the selector); a route naming a missing Authorizer fails
// closed with 500 and never reaches the upstream; and no Secret value appears in /debug/table, the statuses, either
// process's logs or the proxy's table file (mode 0600); usage plans (plans named by API key Secrets, declared in a
// RatePolicy) enforced by the proxy. Every process is stopped by pid in after(), pass or fail.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { stringify } from 'yaml';
import { freePort } from '../../bench/ports.ts';
import { send, type Reply } from '../e2e/helpers/http-client.ts';
import { startEcho, type EchoReply, type Upstream } from '../e2e/helpers/upstreams.ts';
import { startProxyProcess, type ProxyProcess } from '../fleet/proxy-process.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { adminGet, startController, waitControllerReady, type ControllerProcess } from './controller-process.ts';
import type { Condition } from '../../crds/schemas/index.ts';
import { waitFor } from '../support/wait-for.ts';
import { stopInOrder } from '../support/stop-in-order.ts';

const NS = 'default';
const STREAM_TOKEN = `authz-e2e-${randomBytes(12).toString('hex')}`;
const ISSUER = 'https://issuer.authz-e2e.test';
const AUDIENCE = 'gatehouse-authz-e2e';
const SCOPE = 'orders:read';
/** The label the controller's default --secret-selector watches. */
const WATCHED = { 'gatehouse.dev/secret': 'true' };
const CONSUMER_LABELS = { 'authz-e2e.gatehouse.dev/consumers': 'shop' };

let cp: ControlPlane | undefined;
let controller: ControllerProcess | undefined;
let proxy: ProxyProcess | undefined;
let echo: Upstream | undefined;
let dir: string | undefined;

// The JWT issuer's key pair; the Secret holds the whole JWK, private member `d` included (the compiler must drop it).
let privateKey: CryptoKey;
/** Another issuer's key: its tokens must be refused. */
let otherKey: CryptoKey;
/** Every Secret value and every credential a client sent: none may show up anywhere the test can read. */
const secrets = new Map<string, string>();
const aliceKey = randomBytes(24).toString('base64url');
const bobKey = randomBytes(24).toString('base64url');
const bobBackupKey = randomBytes(24).toString('base64url');

const tableFile = (): string => join(dir as string, 'proxy.json');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-authz-e2e-'));
  await writeFile(join(dir, 'token'), `${STREAM_TOKEN}\n`, { mode: 0o600 });
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  const jwk = await exportJWK(pair.privateKey);
  const privateD = jwk.d as string;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const jwksDoc = JSON.stringify({ keys: [{ ...jwk, kid: 'k1', alg: 'ES256', use: 'sig' }] });
  secrets.set('the JWK private member d', privateD);
  secrets.set('the JWKS Secret value, base64 (as the API server sends it)', Buffer.from(jwksDoc).toString('base64'));
  secrets.set("alice's API key", aliceKey);
  secrets.set("bob's API key", bobKey);
  secrets.set("bob's backup API key", bobBackupKey);
  secrets.set('the stream token', STREAM_TOKEN);
  for (const [what, key] of [["alice's API key", aliceKey], ["bob's API key", bobKey], ["bob's backup API key", bobBackupKey]] as const) {
    secrets.set(`${what}, base64 (as the API server sends it)`, Buffer.from(key).toString('base64'));
  }

  echo = await startEcho('echo');
  const streamPort = await freePort();
  cp = await startControlPlane();
  controller = await startController(cp.kubeconfigPath, [
    '--lease-duration', '3s', '--identity', 'authz-controller', '--log-level', 'debug',
    '--stream-port', String(streamPort), '--stream-host', '127.0.0.1', '--stream-token-file', join(dir, 'token'),
  ]);
  await waitControllerReady(controller!);
  proxy = await startProxyProcess('authz-proxy', [
    '--controller', `ws://127.0.0.1:${streamPort}`, '--token-file', join(dir, 'token'), '--table-file', tableFile(), '--log-level', 'debug',
  ]);

  const upstream = { url: `http://127.0.0.1:${echo.port}` };
  await apply(
    secret('issuer-jwks', WATCHED, { 'jwks.json': jwksDoc }),
    secret('alice-key', { ...WATCHED, ...CONSUMER_LABELS }, { consumer: 'alice', key: aliceKey }),
    authorizer('jwt-auth', { type: 'JWT', jwt: { issuer: ISSUER, audiences: [AUDIENCE], algorithms: ['ES256'], jwks: { secretRef: { name: 'issuer-jwks', key: 'jwks.json' } } } }),
    authorizer('key-auth', { type: 'APIKey', apiKey: { secretSelector: { matchLabels: CONSUMER_LABELS } } }),
    apiRoute('jwt-route', 'jwt.example.com', { name: 'jwt-auth', scopes: [SCOPE] }, upstream),
    apiRoute('key-route', 'key.example.com', { name: 'key-auth' }, upstream),
    apiRoute('ghost-route', 'ghost.example.com', { name: 'no-such-authorizer' }, upstream),
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

// ---- resources -------------------------------------------------------------------------------------------------

function secret(name: string, labels: Record<string, string>, stringData: Record<string, string>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS, labels }, type: 'Opaque', stringData };
}

function authorizer(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'Authorizer', metadata: { name, namespace: NS }, spec };
}

function apiRoute(name: string, host: string, authorizerRef: Record<string, unknown>, backend: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiRoute',
    metadata: { name, namespace: NS },
    spec: { hosts: [host], authorizer: authorizerRef, rules: [{ matches: [{ path: { type: 'Prefix', value: '/' } }], backends: [backend] }] },
  };
}

async function apply(...objects: Record<string, unknown>[]): Promise<void> {
  const r = await kube().kubectl(['apply', '-f', '-'], { stdin: objects.map((o) => stringify(o)).join('---\n') });
  assert.equal(r.code, 0, `kubectl apply failed: ${r.stderr}`);
}

function kube(): ControlPlane {
  assert.ok(cp, 'the control plane started');
  return cp;
}


interface Status {
  /** The whole status as the API server returns it (for the leak checks). */
  raw: string;
  conditions: Map<string, Condition>;
}

async function statusOf(kind: 'authorizer' | 'apiroute', name: string): Promise<Status | undefined> {
  const r = await kube().kubectl(['get', kind, name, '-n', NS, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const obj = JSON.parse(r.stdout) as { metadata: { generation: number }; status?: { conditions?: Condition[] } };
  const conditions = obj.status?.conditions ?? [];
  if (conditions.length === 0 || !conditions.every((c) => c.observedGeneration === obj.metadata.generation)) return undefined;
  return { raw: JSON.stringify(obj.status), conditions: new Map(conditions.map((c) => [c.type, c])) };
}

/** Polls the status until `check` accepts it (bounded). */
async function waitForStatus(kind: 'authorizer' | 'apiroute', name: string, what: string, check: (c: Map<string, Condition>) => boolean): Promise<Status> {
  return waitFor(`${kind} ${name}: ${what}`, async () => {
    const s = await statusOf(kind, name);
    return s && check(s.conditions) ? s : undefined;
  });
}

// ---- requests through the proxy ---------------------------------------------------------------------------------

async function through(host: string, headers: Record<string, string> = {}): Promise<Reply> {
  assert.ok(proxy, 'the proxy started');
  return send(proxy.port, '/orders', { headers: { host, ...headers }, timeoutMs: 5_000 });
}

/** Polls until a request to `host` gets `status` (the table has reached the proxy). */
async function waitForAnswer(host: string, status: number, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<Reply> {
  return waitFor(`${host} answers ${status}`, async () => {
    const r = await through(host, headers);
    return r.status === status ? r : undefined;
  }, timeoutMs);
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function mint(claims: JWTPayload, key: CryptoKey = privateKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(key);
}

const errorOf = (r: Reply): string => r.json<{ error: string }>().error;
const echoed = (r: Reply): EchoReply => r.json<EchoReply>();

// ---- the tests ----------------------------------------------------------------------------------------------------

test('JWT with its JWKS in a Secret: no token → 401; the scope → 200 and x-consumer = sub; no scope → 403; status Accepted and resolved', async () => {
  const missing = await waitForAnswer('jwt.example.com', 401);
  assert.equal(errorOf(missing), 'missing credentials');
  assert.equal(missing.headers['www-authenticate'], 'Bearer realm="gatehouse"');

  const good = await mint({ sub: 'carol', scope: `profile ${SCOPE}` });
  secrets.set('a JWT sent by a client', good);
  // A client-sent x-consumer is the gateway's to set: it is replaced, never forwarded.
  const ok = await through('jwt.example.com', { ...bearer(good), 'x-consumer': 'mallory' });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(echoed(ok).headers['x-consumer'], 'carol');

  const noScope = await through('jwt.example.com', bearer(await mint({ sub: 'dave', scope: 'profile' })));
  assert.equal(noScope.status, 403, noScope.body);
  assert.equal(errorOf(noScope), 'insufficient scope');
  assert.match(String(noScope.headers['www-authenticate']), /error="insufficient_scope"/);

  const forged = await through('jwt.example.com', bearer(await mint({ sub: 'carol', scope: SCOPE }, otherKey)));
  assert.equal(forged.status, 401, 'a token signed by another key');
  assert.equal(errorOf(forged), 'invalid token');

  const status = await waitForStatus('authorizer', 'jwt-auth', 'Accepted=True', (c) => c.get('Accepted')?.status === 'True');
  assert.equal(status.conditions.get('Accepted')?.message, 'Spec is valid');
  assert.doesNotMatch(status.raw, /not yet enforced/);
  assert.equal(status.conditions.get('ResolvedRefs')?.status, 'True', status.raw);
  const route = await waitForStatus('apiroute', 'jwt-route', 'ResolvedRefs=True', (c) => c.get('ResolvedRefs')?.status === 'True');
  assert.equal(route.conditions.get('Accepted')?.status, 'True');
});

test('APIKey over labelled Secrets: the key → 200 with the consumer; a wrong key → 401; Secret deleted → refused within one propagation, ResolvedRefs=False names the selector', async () => {
  const ok = await waitForAnswer('key.example.com', 200, { 'x-api-key': aliceKey });
  assert.equal(echoed(ok).headers['x-consumer'], 'alice');
  const wrong = await through('key.example.com', { 'x-api-key': randomBytes(24).toString('base64url') });
  assert.equal(wrong.status, 401);
  assert.equal(errorOf(wrong), 'invalid credentials');
  assert.equal((await through('key.example.com')).status, 401, 'no key');

  const resolved = await waitForStatus('authorizer', 'key-auth', 'resolved', (c) => c.get('ResolvedRefs')?.status === 'True');
  assert.equal(resolved.conditions.get('Accepted')?.message, 'Spec is valid');

  const deleted = await kube().kubectl(['delete', 'secret', 'alice-key', '-n', NS]);
  assert.equal(deleted.code, 0, deleted.stderr);
  const started = Date.now();
  const refused = await waitForAnswer('key.example.com', 401, { 'x-api-key': aliceKey }, 10_000);
  assert.equal(errorOf(refused), 'invalid credentials');
  const refusedAfterMs = Date.now() - started;
  assert.ok(refusedAfterMs < 10_000, `refused after ${refusedAfterMs} ms`);

  const status = await waitForStatus('authorizer', 'key-auth', 'ResolvedRefs=False', (c) => c.get('ResolvedRefs')?.status === 'False');
  const refs = status.conditions.get('ResolvedRefs') as Condition;
  assert.equal(refs.reason, 'SecretNotFound', status.raw);
  assert.match(refs.message, /authz-e2e\.gatehouse\.dev\/consumers=shop/, 'the message names the selector');
  assert.ok(!status.raw.includes(aliceKey), 'the key is not in the status');
});

test('a route naming a missing Authorizer fails closed: 500 "authorizer unavailable", nothing forwarded; ResolvedRefs=False RefNotFound', async () => {
  assert.ok(echo);
  const hitsBefore = echo.hits();
  const first = await waitForAnswer('ghost.example.com', 500);
  const replies = [first];
  for (const headers of [{}, { 'x-api-key': bobKey }, bearer(await mint({ sub: 'carol', scope: SCOPE }))]) replies.push(await through('ghost.example.com', headers));
  for (const r of replies) {
    assert.equal(r.status, 500, r.body);
    assert.equal(errorOf(r), 'authorizer unavailable');
  }
  assert.equal(echo.hits(), hitsBefore, 'the upstream saw none of them');
  const status = await waitForStatus('apiroute', 'ghost-route', 'ResolvedRefs=False', (c) => c.get('ResolvedRefs')?.status === 'False');
  const refs = status.conditions.get('ResolvedRefs') as Condition;
  assert.equal(refs.reason, 'RefNotFound');
  assert.match(refs.message, /Authorizer default\/no-such-authorizer not found/);
});

test('Secret values never appear in /debug/table (hashes only), the statuses, the logs or the table file (mode 0600)', async () => {
  // bob's Secret: two keys (key and key-backup) and a plan, so there is an API key in the table right now.
  await apply(secret('bob-keys', { ...WATCHED, ...CONSUMER_LABELS }, { consumer: 'bob', key: bobKey, 'key-backup': bobBackupKey, plan: 'gold' }));
  for (const key of [bobKey, bobBackupKey]) {
    const ok = await waitForAnswer('key.example.com', 200, { 'x-api-key': key });
    assert.equal(echoed(ok).headers['x-consumer'], 'bob');
  }
  await waitForStatus('authorizer', 'key-auth', 'resolved again', (c) => c.get('ResolvedRefs')?.status === 'True');

  assert.ok(controller && proxy);
  const debug = (await adminGet(controller.adminPort, '/debug/table')).body;
  const table = (JSON.parse(debug) as { table: { authorizers: Array<Record<string, unknown>> } }).table;
  const keyAuth = table.authorizers.find((a) => a['id'] === `${NS}/key-auth`) as { type: string; keys: Array<{ hash: string; consumer: string; plan?: string }> } | undefined;
  assert.ok(keyAuth, `key-auth in /debug/table: ${debug.slice(0, 500)}`);
  assert.equal(keyAuth.type, 'apiKey');
  assert.equal(keyAuth.keys.length, 2);
  for (const k of keyAuth.keys) {
    assert.match(k.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual([k.consumer, k.plan], ['bob', 'gold']);
  }
  const jwtAuth = table.authorizers.find((a) => a['id'] === `${NS}/jwt-auth`) as { jwks: { source: string; keys: Array<Record<string, string>> } } | undefined;
  assert.ok(jwtAuth, 'jwt-auth in /debug/table');
  assert.equal(jwtAuth.jwks.source, 'inline');
  assert.deepEqual(Object.keys(jwtAuth.jwks.keys[0] ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'], 'public members only');

  // Both files of the table file: the snapshot and the journal of changes since (its records are plain JSON).
  const fileText = await waitFor('the table file holds the bob keys', async () => {
    const text = (await readFile(tableFile(), 'utf8')) + (await readFile(`${tableFile()}.journal`, 'utf8').catch(() => ''));
    return keyAuth.keys.every((k) => text.includes(k.hash)) ? text : undefined;
  });
  assert.equal((await stat(tableFile())).mode & 0o777, 0o600, 'table file mode');
  assert.equal((await stat(`${tableFile()}.journal`)).mode & 0o777, 0o600, 'table file journal mode');

  const statuses: string[] = [];
  for (const kind of ['authorizers', 'apiroutes'] as const) {
    const r = await kube().kubectl(['get', kind, '-n', NS, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const items = (JSON.parse(r.stdout) as { items: Array<{ status?: unknown }> }).items;
    assert.ok(items.length >= 2);
    statuses.push(...items.map((i) => JSON.stringify(i.status ?? null)));
  }

  const places: Array<[string, string]> = [
    ['/debug/table', debug],
    ['the proxy table file', fileText],
    ['the Authorizer and ApiRoute statuses', statuses.join('\n')],
    ["the controller's logs", controller.logs()],
    ["the proxy's logs", proxy.logs()],
  ];
  assert.ok(controller.logs().length > 0 && proxy.logs().length > 0, 'logs were captured');
  for (const [where, text] of places) {
    for (const [what, value] of secrets) assert.ok(!text.includes(value), `${what} appears in ${where}`);
  }
});

test('usage plans in a cluster: API key Secrets name plans, a RatePolicy declares them; free gets 2, paid 5, apart; a missing RatePolicy fails closed with 500; statuses Accepted without "not yet enforced"', async () => {
  const PLAN_LABELS = { 'authz-e2e.gatehouse.dev/consumers': 'metered' };
  const freeKey = randomBytes(24).toString('base64url');
  const paidKey = randomBytes(24).toString('base64url');
  secrets.set("the free consumer's API key", freeKey);
  secrets.set("the paid consumer's API key", paidKey);
  const upstream = { url: `http://127.0.0.1:${(echo as Upstream).port}` };
  const limitsRoute = (name: string, host: string, policy: string): Record<string, unknown> => {
    const r = apiRoute(name, host, { name: 'plan-keys' }, upstream) as { spec: Record<string, unknown> };
    r.spec['ratePolicies'] = [{ name: policy }];
    return r;
  };
  const bucket = (burst: number) => ({ name: 'throttle', key: [{ type: 'Consumer' }], tokenBucket: { rate: 1, period: '1h', burst } });
  await apply(
    secret('free-key', { ...WATCHED, ...PLAN_LABELS }, { consumer: 'hobbyist', key: freeKey, plan: 'free' }),
    secret('paid-key', { ...WATCHED, ...PLAN_LABELS }, { consumer: 'bigco', key: paidKey, plan: 'paid' }),
    authorizer('plan-keys', { type: 'APIKey', apiKey: { secretSelector: { matchLabels: PLAN_LABELS } } }),
    { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'RatePolicy', metadata: { name: 'plans', namespace: NS }, spec: { defaultPlan: 'free', plans: [{ name: 'free', limits: [bucket(2)] }, { name: 'paid', limits: [bucket(5)] }] } },
    limitsRoute('metered-route', 'metered.example.com', 'plans'),
    limitsRoute('unmetered-ghost', 'unmetered.example.com', 'no-such-policy'),
  );

  const admitted = async (key: string): Promise<number[]> => {
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await through('metered.example.com', { 'x-api-key': key })).status);
    return codes;
  };
  const first = await waitForAnswer('metered.example.com', 200, { 'x-api-key': freeKey });
  assert.match(String(first.headers['ratelimit']), /^"plans\/free\/throttle";r=1;t=\d+$/, 'the RateLimit field names the plan limit');
  assert.deepEqual(await admitted(freeKey), [200, 429, 429, 429, 429, 429, 429], 'free: burst 2 (one taken by the first request)');
  assert.deepEqual(await admitted(paidKey), [200, 200, 200, 200, 200, 429, 429], 'paid: burst 5, its own bucket');

  const ghost = await waitForAnswer('unmetered.example.com', 500, { 'x-api-key': paidKey });
  assert.equal(errorOf(ghost), 'rate policy unavailable');
  const refs = (await waitForStatus('apiroute', 'unmetered-ghost', 'ResolvedRefs=False', (c) => c.get('ResolvedRefs')?.status === 'False')).conditions.get('ResolvedRefs') as Condition;
  assert.match(refs.message, /RatePolicy default\/no-such-policy not found/);

  const policy = await waitFor('RatePolicy plans has a status', async () => {
    const r = await kube().kubectl(['get', 'ratepolicy', 'plans', '-n', NS, '-o', 'json']);
    const conditions = r.code === 0 ? ((JSON.parse(r.stdout) as { status?: { conditions?: Condition[] } }).status?.conditions ?? []) : [];
    return conditions.length > 0 ? conditions : undefined;
  });
  const accepted = policy.find((c) => c.type === 'Accepted');
  assert.equal(accepted?.status, 'True');
  assert.equal(accepted?.message, 'Spec is valid', 'no "not yet enforced" note any more');
});

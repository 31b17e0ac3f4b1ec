// Request validation end to end, with a real client, gateway and upstream: a valid body reaches the upstream byte for
// byte (Content-Length or chunked), an invalid one is answered 400 with the error paths and never reaches it; 413 for
// a body over the route's limit (announced or not), 415 for a body that is not JSON, 400 for missing required headers
// and query parameters and for a missing body; validation runs after authorization; Expect: 100-continue; HTTP/2 on the
// TLS listener; schemas are compiled once per table apply and carried across swaps and deltas; a table (or delta) with
// a schema that does not compile is refused whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { buildRuntime } from '../../proxy/runtime/build-runtime.ts';
import { applyDelta } from '../../proxy/runtime/delta-apply.ts';
import { TimeSlicer } from '../../proxy/runtime/time-slicer.ts';
import { tableDelta } from '../../controller/distribute/table-delta.ts';
import type { TableRequestValidation } from '../../proxy/table/table-schema.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { errorBody, send, type Reply } from './helpers/http-client.ts';
import { apiKeyAuthorizer, auth, newSalt } from './helpers/authorizers.ts';
import { backend, route, table } from './helpers/tables.ts';
import { startUpstream, type Upstream } from './helpers/upstreams.ts';
import { selfSignedLocalhost } from './helpers/self-signed.ts';
import { h2request, h2session } from './helpers/http2-client.ts';

const PET_SCHEMA = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    age: { type: 'integer', minimum: 0 },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 3 },
  },
};

/** An upstream that keeps every request's raw body bytes. */
async function startRecorder(): Promise<Upstream & { seen: Array<{ url: string; headers: IncomingMessage['headers']; body: Buffer }> }> {
  const seen: Array<{ url: string; headers: IncomingMessage['headers']; body: Buffer }> = [];
  const up = await startUpstream('rec', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  return Object.assign(up, { seen });
}

function validation(extra: Partial<TableRequestValidation> = {}): TableRequestValidation {
  return { bodySchema: PET_SCHEMA, requiredHeaders: [], requiredQuery: [], ...extra };
}

type Issue = { in: string; path?: string; name?: string; message: string };
function issues(reply: Reply): Issue[] {
  errorBody(reply);
  return reply.json<{ errors: Issue[] }>().errors;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

async function startValidating(t: Parameters<typeof startTestGateway>[0]) {
  const up = await startRecorder();
  closeAfter(t, up);
  const gw = await startTestGateway(
    t,
    table(
      [
        route('pets', '/pets', ['be'], { requestValidation: validation(), maxBodyBytes: 256 }),
        route('params', '/params', ['be'], { requestValidation: { requiredHeaders: ['x-tenant'], requiredQuery: ['version'] } }),
        route('nullable', '/nullable', ['be'], { requestValidation: validation({ bodySchema: { type: ['object', 'null'] } }) }),
        route('plain', '/plain', ['be'], { maxBodyBytes: 256 }),
      ],
      [backend('be', [up.port])],
    ),
  );
  return { up, gw };
}

test('a valid body reaches the upstream byte for byte (Content-Length and chunked); JSON media types with parameters and +json pass', async (t) => {
  const { up, gw } = await startValidating(t);
  // Odd spacing, a duplicate key, escapes and non-ASCII: re-serialising would change every one of them.
  const body = Buffer.from('{ "name" : "Pépé\\u00e9",\n  "age":3, "tags":["a" ,"b"], "name":"Rex" }\r\n', 'utf8');
  const ok = await send(gw.port, '/pets', { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body });
  assert.equal(ok.status, 201);
  assert.equal(up.seen.length, 1);
  assert.ok(up.seen[0]?.body.equals(body), 'the very bytes the client sent');
  assert.equal(up.seen[0]?.headers['content-length'], String(body.length));

  const merge = await send(gw.port, '/pets', { method: 'PATCH', headers: { 'content-type': 'Application/Merge-Patch+JSON' }, body: '{"name":"x"}' });
  assert.equal(merge.status, 201);

  // Chunked, in three writes: read whole, validated, then sent with its length.
  const parts = ['{"name":', '"Chunky",', '"age":7}'];
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, path: '/pets', method: 'POST', headers: { ...JSON_HEADERS, 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    for (const p of parts) req.write(p);
    req.end();
  });
  assert.equal(chunked, 201);
  assert.equal(up.seen[2]?.body.toString(), parts.join(''));
  assert.equal(up.seen[2]?.headers['transfer-encoding'], undefined);
  assert.equal(up.seen[2]?.headers['content-length'], String(parts.join('').length));
});

test('an invalid body is answered 400 with the error paths and never reaches the upstream', async (t) => {
  const { up, gw } = await startValidating(t);
  const cases: Array<[string, Issue[]]> = [
    ['{"age":3}', [{ in: 'body', path: '/name', message: "must have required property 'name'" }]],
    ['{"name":"a","age":-1}', [{ in: 'body', path: '/age', message: 'must be >= 0' }]],
    ['{"name":"a","tags":["x",2]}', [{ in: 'body', path: '/tags/1', message: 'must be string' }]],
    ['{"name":"a","colour":"red"}', [{ in: 'body', path: '', message: 'must NOT have additional properties' }]],
    ['[1,2]', [{ in: 'body', path: '', message: 'must be object' }]],
  ];
  for (const [body, expected] of cases) {
    const reply = await send(gw.port, '/pets', { method: 'POST', headers: JSON_HEADERS, body });
    assert.equal(reply.status, 400, body);
    assert.equal(errorBody(reply).error, 'request body does not match the schema');
    assert.deepEqual(issues(reply), expected, body);
  }
  const notJson = await send(gw.port, '/pets', { method: 'POST', headers: JSON_HEADERS, body: '{"name": "a",}' });
  assert.equal(notJson.status, 400);
  assert.equal(errorBody(notJson).error, 'request body is not valid JSON');
  assert.equal(issues(notJson)[0]?.path, '');
  const notUtf8 = await send(gw.port, '/pets', { method: 'POST', headers: JSON_HEADERS, body: Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) });
  assert.equal(notUtf8.status, 400);
  assert.equal(errorBody(notUtf8).error, 'request body is not valid JSON');
  assert.equal(up.seen.length, 0, 'no invalid request reached the upstream');
  const logged = gw.logs.lines.filter((l) => l['status'] === 400);
  assert.equal(logged.length, cases.length + 2, 'each refusal has its access-log line');
  assert.ok(logged.every((l) => !JSON.stringify(l).includes('colour')), 'no request data in the log');
});

test('413 over the route limit (announced or streamed), 415 for a body that is not JSON or is encoded, before any byte is validated', async (t) => {
  const { up, gw } = await startValidating(t);
  const big = JSON.stringify({ name: 'x'.repeat(300) });
  const announced = await send(gw.port, '/pets', { method: 'POST', headers: JSON_HEADERS, body: big });
  assert.equal(announced.status, 413);
  assert.equal(errorBody(announced).error, 'request body too large');

  const streamed = await new Promise<Reply>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, path: '/pets', method: 'POST', headers: { ...JSON_HEADERS, 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
    });
    req.on('error', reject);
    req.write(big.slice(0, 200));
    // The rest in a second chunk: the limit is crossed while reading.
    setImmediate(() => req.end(big.slice(200)));
  });
  assert.equal(streamed.status, 413);
  assert.equal(streamed.headers.connection, 'close', 'a body left unread closes the connection');

  for (const headers of [{ 'content-type': 'text/plain' }, {}, { 'content-type': 'application/jsonp' }, { 'content-type': 'application/x-www-form-urlencoded' }]) {
    const reply = await send(gw.port, '/pets', { method: 'POST', headers, body: '{"name":"a"}' });
    assert.equal(reply.status, 415, JSON.stringify(headers));
    assert.match(errorBody(reply).error, /must be JSON/);
  }
  const gzipped = await send(gw.port, '/pets', { method: 'POST', headers: { ...JSON_HEADERS, 'content-encoding': 'gzip' }, body: '{"name":"a"}' });
  assert.equal(gzipped.status, 415);
  assert.equal(up.seen.length, 0);

  // The same body on a route without validation streams as before.
  const plain = await send(gw.port, '/plain', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'not json at all' });
  assert.equal(plain.status, 201);
  assert.equal(up.seen[0]?.body.toString(), 'not json at all');
});

test('missing required headers and query parameters (absent or empty) are listed in one 400; a body is required unless the schema admits null', async (t) => {
  const { up, gw } = await startValidating(t);
  const none = await send(gw.port, '/params');
  assert.equal(none.status, 400);
  assert.equal(errorBody(none).error, 'missing required request parameters');
  assert.deepEqual(issues(none), [
    { in: 'header', name: 'x-tenant', message: 'is required' },
    { in: 'query', name: 'version', message: 'is required' },
  ]);
  const empty = await send(gw.port, '/params?version=&other=1', { headers: { 'x-tenant': 'acme' } });
  assert.equal(empty.status, 400);
  assert.deepEqual(issues(empty), [{ in: 'query', name: 'version', message: 'is required' }]);
  const ok = await send(gw.port, '/params?other=1&version=2', { headers: { 'X-Tenant': 'acme' } });
  assert.equal(ok.status, 201);

  const noBody = await send(gw.port, '/pets', { method: 'POST', headers: JSON_HEADERS });
  assert.equal(noBody.status, 400);
  assert.equal(errorBody(noBody).error, 'request body required');
  const nullable = await send(gw.port, '/nullable', { method: 'POST' });
  assert.equal(nullable.status, 201, 'a schema admitting null admits no body');
  assert.equal(up.seen.length, 2);
});

test('validation runs after authorization: a caller without a key gets 401, never a schema error', async (t) => {
  const up = await startRecorder();
  closeAfter(t, up);
  const salt = newSalt();
  const authz = apiKeyAuthorizer('test/keys', salt, [{ key: 'k-1', consumer: 'alice' }]);
  const gw = await startTestGateway(t, table([route('pets', '/pets', ['be'], { requestValidation: validation(), auth: auth('test/keys') })], [backend('be', [up.port])], undefined, [authz]));
  const anonymous = await send(gw.port, '/pets', { method: 'POST', headers: JSON_HEADERS, body: '{}' });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json<{ errors?: unknown }>().errors, undefined, 'nothing about the schema to an unauthenticated caller');
  const invalid = await send(gw.port, '/pets', { method: 'POST', headers: { ...JSON_HEADERS, 'x-api-key': 'k-1' }, body: '{}' });
  assert.equal(invalid.status, 400);
  const valid = await send(gw.port, '/pets', { method: 'POST', headers: { ...JSON_HEADERS, 'x-api-key': 'k-1' }, body: '{"name":"a"}' });
  assert.equal(valid.status, 201);
  assert.equal(up.seen.length, 1);
});

test('schemas compile once per table apply and are carried across swaps while unchanged; a schema that does not compile refuses the table', () => {
  const be = backend('be', [1]);
  const first = buildRuntime(table([route('a', '/a', ['be'], { requestValidation: validation() }), route('b', '/b', ['be'], { requestValidation: validation() })], [be]));
  assert.ok(first.ok);
  const a1 = first.runtime.routes.get('a')?.validation?.body;
  assert.ok(a1 !== undefined && a1 !== null);
  assert.equal(first.runtime.routes.get('b')?.validation?.body, a1, 'one compiled schema for two routes with the same one');
  assert.equal(first.runtime.bodySchemas.size, 1);

  // The next table: the same schema (a new object, equal JSON) and a changed one.
  const second = buildRuntime(table([route('a', '/a', ['be'], { requestValidation: validation({ bodySchema: structuredClone(PET_SCHEMA) }) }), route('c', '/c', ['be'], { requestValidation: validation({ bodySchema: { type: 'array' } }) })], [be]), first.runtime);
  assert.ok(second.ok);
  assert.equal(second.runtime.routes.get('a')?.validation?.body, a1, 'carried over, not compiled again');
  assert.notEqual(second.runtime.routes.get('c')?.validation?.body, a1);
  assert.equal(second.runtime.bodySchemas.size, 2);

  const broken = buildRuntime(table([route('ok', '/ok', ['be']), route('bad', '/bad', ['be'], { requestValidation: validation({ bodySchema: { type: 'integr' } }) })], [be]), second.runtime);
  assert.equal(broken.ok, false);
  assert.match(broken.ok ? '' : broken.error, /route "bad": requestValidation\.bodySchema does not compile/);

  const none = buildRuntime(table([route('ok', '/ok', ['be'])], [be]));
  assert.ok(none.ok);
  assert.equal(none.runtime.routes.get('ok')?.validation, null, 'a route without validation carries none');
});

test('Expect: 100-continue: the client is told to send its body only once the parameters passed; a refused request gets its answer without 100', async (t) => {
  const up = await startRecorder();
  closeAfter(t, up);
  const gw = await startTestGateway(t, table([route('pets', '/pets', ['be'], { requestValidation: validation({ requiredHeaders: ['x-tenant'] }) })], [backend('be', [up.port])]));
  const expectContinue = (headers: Record<string, string>): Promise<{ status: number; continued: boolean }> =>
    new Promise((resolve, reject) => {
      let continued = false;
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/pets', method: 'POST', headers: { ...JSON_HEADERS, expect: '100-continue', 'content-length': '12', ...headers }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
      });
      req.on('continue', () => {
        continued = true;
        req.end('{"name":"a"}');
      });
      req.on('error', reject);
    });
  assert.deepEqual(await expectContinue({ 'x-tenant': 'acme' }), { status: 201, continued: true });
  assert.equal(up.seen[0]?.body.toString(), '{"name":"a"}');
  assert.equal(up.seen[0]?.headers.expect, undefined);
  assert.deepEqual(await expectContinue({}), { status: 400, continued: false });
  assert.equal(up.seen.length, 1);
});

test('a table delta keeps the compiled schemas of routes it does not touch, compiles a changed one, and is refused for one that does not compile', async () => {
  const be = backend('be', [1]);
  const base = table([route('a', '/a', ['be'], { requestValidation: validation() }), route('b', '/b', ['be'], { requestValidation: validation({ bodySchema: { type: 'array' } }) })], [be]);
  const built = buildRuntime(base);
  assert.ok(built.ok);
  const a1 = built.runtime.routes.get('a')?.validation?.body;
  const next = table([base.routes[0] as (typeof base.routes)[number], route('b', '/b', ['be'], { requestValidation: validation({ bodySchema: { type: 'string' } }) })], [be]);
  const delta = tableDelta(base, next);
  assert.ok(delta !== null);
  const applied = await applyDelta(built.runtime, delta, new TimeSlicer(), () => null);
  assert.ok(applied.ok);
  assert.equal(applied.runtime.routes.get('a')?.validation?.body, a1, 'untouched route: same compiled schema');
  assert.equal(applied.runtime.routes.get('b')?.validation?.body?.validate('x'), true, 'changed route: its new schema');
  assert.equal(applied.runtime.bodySchemas.size, 2);

  // A delta touching only a route without a schema keeps the set as it is.
  const plain = table([...next.routes, route('c', '/c', ['be'])], [be]);
  const added = await applyDelta(applied.runtime, tableDelta(next, plain) as NonNullable<ReturnType<typeof tableDelta>>, new TimeSlicer(), () => null);
  assert.ok(added.ok);
  assert.equal(added.runtime.bodySchemas, applied.runtime.bodySchemas);
  assert.equal(added.runtime.routes.get('c')?.validation, null);

  const broken = table([base.routes[0] as (typeof base.routes)[number], route('b', '/b', ['be'], { requestValidation: validation({ bodySchema: { type: 'strin' } }) })], [be]);
  const refused = await applyDelta(applied.runtime, tableDelta(next, broken) as NonNullable<ReturnType<typeof tableDelta>>, new TimeSlicer(), () => null);
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? '' : refused.error, /route "b": requestValidation\.bodySchema does not compile/);
});

test('HTTP/2: the same checks on the TLS listener; a body in several DATA frames reaches the upstream as the same bytes', async (t) => {
  const up = await startRecorder();
  closeAfter(t, up);
  const pair = selfSignedLocalhost();
  const served = {
    ...table([route('pets', '/pets', ['be'], { requestValidation: validation({ requiredHeaders: ['x-tenant'] }), maxBodyBytes: 256 })], [backend('be', [up.port])]),
    certificates: [{ id: 'default/h2', certPem: pair.cert.toString(), keyPem: pair.key.toString() }],
    tlsHosts: [{ id: '*', certificate: 'default/h2' }],
  };
  const gw = await startTestGateway(t, served, { https: { port: 0 } });
  const session = await h2session(t, gw.httpsPort as number, pair.cert);
  const post = (headers: Record<string, string>, body: string[]) => h2request(session, { ':method': 'POST', ':path': '/pets', 'content-type': 'application/json', ...headers }, body);

  const ok = await post({ 'x-tenant': 'acme' }, ['{"name":', ' "Rex" ', '}']);
  assert.equal(ok.status, 201);
  assert.equal(up.seen[0]?.body.toString(), '{"name": "Rex" }');
  const invalid = await post({ 'x-tenant': 'acme' }, ['{"age":1}']);
  assert.equal(invalid.status, 400);
  assert.deepEqual((JSON.parse(invalid.body) as { errors: unknown }).errors, [{ in: 'body', path: '/name', message: "must have required property 'name'" }]);
  const missing = await post({}, ['{"name":"a"}']);
  assert.equal(missing.status, 400);
  const noBody = await h2request(session, { ':method': 'POST', ':path': '/pets', 'x-tenant': 'acme' });
  assert.equal(noBody.status, 400);
  const big = await post({ 'x-tenant': 'acme' }, [JSON.stringify({ name: 'x'.repeat(200) }), JSON.stringify({ pad: 'y'.repeat(200) })]);
  assert.equal(big.status, 413);
  const text = await post({ 'x-tenant': 'acme', 'content-type': 'text/plain' }, ['hi']);
  assert.equal(text.status, 415);
  assert.equal(up.seen.length, 1);
  // The session survives the refusals (each ended only its stream).
  assert.equal((await post({ 'x-tenant': 'acme' }, ['{"name":"again"}'])).status, 201);
});

// OpenTelemetry span export end to end: a real client → a gateway with span export on → a real upstream that echoes
// the traceparent it got, and a loopback OTLP/HTTP receiver the test starts. The exported span carries the ids the
// upstream received and the client's parent; its attributes; no secret or query string in what is exported; 5xx as
// errors; parent-based sampling; a collector down, refusing or too slow never touches requests (failures logged once,
// drops counted); nothing exported when the flag is absent; the CLI's flags, headers file and flush at shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OtlpTracingOptions } from '../../proxy/server/otlp-tracer.ts';
import { startStandalone } from '../support/gatehouse-process.ts';
import { eventually } from '../support/wait-for.ts';
import { apiKeyAuthorizer, auth, externalAuthorizer, metricValue, newSalt, scrapeMetrics } from './helpers/authorizers.ts';
import { closeAfter, startTestGateway, type Gateway, type LogSink } from './helpers/gateway.ts';
import { send } from './helpers/http-client.ts';
import { h2request, h2session } from './helpers/http2-client.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.ts';
import { selfSignedLocalhost } from './helpers/self-signed.ts';
import { backend, route, table } from './helpers/tables.ts';
import { refusedPort, startEcho, startUpstream, type EchoReply } from './helpers/upstreams.ts';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_PARENT = '00f067aa0ba902b7';
const alice = { key: 'alice-key-7d3f0b9c1e5a2468', consumer: 'alice' };
const SPANS = 'gatehouse_otlp_spans_total';

type TestContext = Parameters<typeof startTestGateway>[0];
type TestGateway = Gateway & { logs: LogSink };

/**
 * A gateway exporting to `endpoint` (default: a receiver started here) with short batching, and routes: /items/{id}
 * (a template) and /open to an echo upstream, /keys behind API keys, /down to a refused port.
 */
async function setup(t: TestContext, tracing: Partial<OtlpTracingOptions> | null = {}): Promise<{ gw: TestGateway; rx: OtlpReceiver; upPort: number }> {
  const rx = await startOtlpReceiver();
  const up = await startEcho('up');
  closeAfter(t, rx, up);
  const down = await refusedPort();
  const routes = [
    route('tmpl', '/items', ['be'], { path: { type: 'template', value: '/items/{id}' } }),
    route('open', '/open', ['be']),
    route('keys', '/keys', ['be'], { auth: auth('test/keys') }),
    route('down', '/down', ['dead'], { retries: { attempts: 0 } }),
  ];
  const options =
    tracing === null
      ? {}
      : { tracing: { endpoint: rx.url, batchDelayMs: 20, exportTimeoutMs: 2_000, serviceVersion: '9.9.9-test', serviceInstanceId: 'proxy-under-test', ...tracing } };
  const gw = await startTestGateway(t, table(routes, [backend('be', [up.port]), backend('dead', [down])], undefined, [apiKeyAuthorizer('test/keys', newSalt(), [alice])]), options);
  return { gw, rx, upPort: up.port };
}

/** The traceparent the echo upstream received. */
function upstreamTraceparent(reply: { json: <T>() => T }): RegExpExecArray {
  const sent = TRACEPARENT.exec(String(reply.json<EchoReply>().headers.traceparent));
  assert.ok(sent !== null, 'a valid traceparent upstream');
  return sent;
}

/** Waits (bounded) until the receiver holds the span with this id. */
async function spanWithId(rx: OtlpReceiver, spanId: string): Promise<ReceivedSpan> {
  await eventually(async () => rx.spans().some((s) => s.spanId === spanId), `span ${spanId} exported`);
  return rx.spans().find((s) => s.spanId === spanId) as ReceivedSpan;
}

/** Waits (bounded) until the receiver holds the span of this request id. */
async function spanOfRequest(rx: OtlpReceiver, requestId: string): Promise<ReceivedSpan> {
  const find = (): ReceivedSpan | undefined => rx.spans().find((s) => s.attributes['gatehouse.request_id'] === requestId);
  await eventually(async () => find() !== undefined, `the span of ${requestId} exported`);
  return find() as ReceivedSpan;
}

function accessLine(gw: TestGateway, requestId: string): Record<string, unknown> {
  const line = gw.logs.lines.find((l) => l.msg === 'request' && l.requestId === requestId);
  assert.ok(line, `an access-log line for ${requestId}`);
  return line;
}

test('a SERVER span per request with the ids the upstream received, the client as parent, and the request in semantic-convention attributes', async (t) => {
  const { gw, rx, upPort } = await setup(t);

  const client = `00-${CLIENT_TRACE}-${CLIENT_PARENT}-01`;
  const reply = await send(gw.port, '/items/42?page=2', { headers: { traceparent: client, 'x-request-id': 'otel-continued' } });
  assert.equal(reply.status, 200);
  const sent = upstreamTraceparent(reply);
  const span = await spanWithId(rx, sent[2] as string);
  assert.equal(span.traceId, CLIENT_TRACE, "the client's trace");
  assert.equal(sent[1], CLIENT_TRACE);
  assert.equal(span.parentSpanId, CLIENT_PARENT, "the client's span is the parent");
  assert.notEqual(span.spanId, CLIENT_PARENT, 'the gateway is a hop of its own');
  assert.equal(sent[3], '01');
  assert.equal(span.kind, 2, 'SERVER');
  assert.equal(span.name, 'GET /items/{id}');
  assert.equal(span.statusCode, 0, 'unset: not an error');
  assert.deepEqual(
    { ...span.attributes, 'gatehouse.upstream_ms': typeof span.attributes['gatehouse.upstream_ms'] },
    {
      'http.request.method': 'GET',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'http.route': '/items/{id}',
      'url.path': '/items/42',
      'http.response.status_code': 200,
      'gatehouse.route': 'tmpl',
      'gatehouse.request_id': 'otel-continued',
      'gatehouse.upstream': `127.0.0.1:${upPort}`,
      'gatehouse.upstream_ms': 'number',
    },
  );
  assert.deepEqual(span.resource, { 'service.name': 'gatehouse-proxy', 'service.version': '9.9.9-test', 'service.instance.id': 'proxy-under-test' });
  assert.equal(span.scope, 'gatehouse');
  // The access log names the same trace, and the span lasts what the log says the request took.
  const line = accessLine(gw, 'otel-continued');
  assert.equal(line.traceId, span.traceId);
  const durationMs = Number(span.endNs - span.startNs) / 1e6;
  assert.ok(durationMs >= (line.ms as number) - 0.01 && durationMs < (line.ms as number) + 50, `span ${durationMs} ms, log ${String(line.ms)} ms`);
  assert.ok(Math.abs(Number(span.startNs / 1_000_000n) - Date.now()) < 60_000, 'start time is wall-clock time');

  // No traceparent from the client: a new trace, rooted at the gateway's span.
  const fresh = await send(gw.port, '/open', { headers: { 'x-request-id': 'otel-new' } });
  const created = upstreamTraceparent(fresh);
  const root = await spanWithId(rx, created[2] as string);
  assert.equal(root.traceId, created[1]);
  assert.notEqual(root.traceId, CLIENT_TRACE);
  assert.equal(root.parentSpanId, '', 'a root span');
  assert.equal(created[3], '01', 'sampled');
  assert.equal(root.attributes['http.route'], '/open*', 'a prefix route as a template');
  assert.equal(accessLine(gw, 'otel-new').traceId, root.traceId);

  // An authenticated consumer is named (its name, never its key).
  const keyed = await send(gw.port, '/keys/x', { headers: { 'x-api-key': alice.key, 'x-request-id': 'otel-consumer' } });
  assert.equal(keyed.status, 200);
  const consumer = await spanOfRequest(rx, 'otel-consumer');
  assert.equal(consumer.attributes['gatehouse.consumer'], 'alice');
  assert.equal(consumer.spanId, upstreamTraceparent(keyed)[2]);
});

test('url.scheme is https for requests on the TLS listener, over HTTP/1.1 and HTTP/2, and http on the plain port', async (t) => {
  const rx = await startOtlpReceiver();
  const up = await startEcho('up');
  closeAfter(t, rx, up);
  const pair = selfSignedLocalhost();
  const served = {
    ...table([route('open', '/open', ['be'])], [backend('be', [up.port])]),
    certificates: [{ id: 'default/otlp', certPem: pair.cert.toString(), keyPem: pair.key.toString() }],
    tlsHosts: [{ id: '*', certificate: 'default/otlp' }],
  };
  const gw = await startTestGateway(t, served, { https: { port: 0 }, tracing: { endpoint: rx.url, batchDelayMs: 20, exportTimeoutMs: 2_000, serviceVersion: '9.9.9-test', serviceInstanceId: 'proxy-under-test' } });
  const tlsPort = gw.httpsPort as number;

  const plain = await send(gw.port, '/open', { headers: { 'x-request-id': 'scheme-plain' } });
  assert.equal(plain.status, 200);
  const h1 = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', servername: 'localhost', port: tlsPort, path: '/open', agent: new HttpsAgent({ ALPNProtocols: ['http/1.1'], ca: pair.cert }), headers: { host: `localhost:${tlsPort}`, 'x-request-id': 'scheme-h1' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(h1, 200);
  const session = await h2session(t, tlsPort, pair.cert);
  const h2 = await h2request(session, { ':method': 'GET', ':path': '/open', 'x-request-id': 'scheme-h2' });
  assert.equal(h2.status, 200);

  assert.equal((await spanOfRequest(rx, 'scheme-plain')).attributes['url.scheme'], 'http');
  assert.equal((await spanOfRequest(rx, 'scheme-h1')).attributes['url.scheme'], 'https', 'HTTP/1.1 over TLS');
  assert.equal((await spanOfRequest(rx, 'scheme-h2')).attributes['url.scheme'], 'https', 'HTTP/2');
});

test('credentials, headers and query strings are never exported, whatever the outcome', async (t) => {
  const { gw, rx } = await setup(t);
  const secrets = {
    bearer: 'bearer-secret-5f1c2a9d8e7b',
    cookie: 'cookie-secret-0a9b8c7d6e5f',
    apiKey: alice.key,
    query: 'query-secret-1b2c3d4e5f6a',
    wrongKey: 'wrong-key-secret-9e8d7c6b5a4f',
  };
  const statuses = new Set<number>();
  let sent = 0;
  for (const apiKey of [secrets.apiKey, secrets.wrongKey]) {
    const headers = { authorization: `Bearer ${secrets.bearer}`, cookie: `session=${secrets.cookie}`, 'x-api-key': apiKey, 'x-secret-header': secrets.bearer };
    for (const path of ['/open', '/keys', '/items/7', '/nowhere', '/down']) {
      statuses.add((await send(gw.port, `${path}?api_key=${secrets.query}&a=b`, { headers })).status);
      statuses.add((await send(gw.port, `${path}?token=${secrets.query}`, { method: 'POST', headers, body: 'payload' })).status);
      sent += 2;
    }
  }
  for (const status of [200, 401, 404, 502]) assert.ok(statuses.has(status), `a ${status} among ${[...statuses].join(', ')}`);
  await eventually(async () => rx.spans().length >= sent, `${sent} spans exported`);
  assert.equal(rx.spans().length, sent);
  const exported = rx.requests.map((r) => r.body).join('\n');
  for (const [what, secret] of Object.entries(secrets)) assert.ok(!exported.includes(secret), `${what} exported`);
  for (const text of ['api_key', 'token=', 'payload', 'x-secret-header', 'cookie', 'authorization']) assert.ok(!exported.toLowerCase().includes(text), `${text} exported`);
  for (const span of rx.spans()) assert.ok(!String(span.attributes['url.path']).includes('?'), 'url.path without query');
});

test('5xx answers are error spans with error.type; 4xx answers the gateway gives on purpose are not', async (t) => {
  const { gw, rx } = await setup(t);
  assert.equal((await send(gw.port, '/down', { headers: { 'x-request-id': 'otel-502' } })).status, 502);
  assert.equal((await send(gw.port, '/nowhere?x=1', { headers: { 'x-request-id': 'otel-404' } })).status, 404);
  assert.equal((await send(gw.port, '/keys', { headers: { 'x-request-id': 'otel-401', 'x-api-key': 'wrong' } })).status, 401);

  const failed = await spanOfRequest(rx, 'otel-502');
  assert.equal(failed.statusCode, 2, 'status ERROR');
  assert.equal(failed.attributes['error.type'], 'ECONNREFUSED');
  assert.equal(failed.attributes['http.response.status_code'], 502);
  assert.match(String(failed.attributes['gatehouse.upstream']), /^127\.0\.0\.1:\d+$/);
  assert.equal(failed.attributes['gatehouse.upstream_ms'], undefined, 'no upstream answer');

  const missing = await spanOfRequest(rx, 'otel-404');
  assert.equal(missing.statusCode, 0);
  assert.equal(missing.attributes['error.type'], undefined);
  assert.equal(missing.name, 'GET', 'no route: the method alone');
  assert.equal(missing.attributes['http.route'], undefined);
  assert.equal(missing.attributes['gatehouse.route'], '(none)');
  assert.equal(missing.attributes['url.path'], '/nowhere');

  const refused = await spanOfRequest(rx, 'otel-401');
  assert.equal(refused.statusCode, 0);
  assert.equal(refused.attributes['error.type'], undefined);
  assert.equal(refused.attributes['http.response.status_code'], 401);
  assert.equal(refused.attributes['gatehouse.consumer'], undefined);
});

test('a client gone while a policy step waits: its span ends as 499 with error.type, not as a server error', async (t) => {
  const rx = await startOtlpReceiver();
  const up = await startEcho('up');
  // A decision service that answers only when the test says so.
  let pending: ServerResponse | null = null;
  const decisions = await startUpstream('decisions', (req, res) => {
    req.resume();
    req.on('end', () => (pending = res));
  });
  closeAfter(t, rx, up, decisions);
  const routes = [route('ext', '/ext', ['be'], { auth: auth('test/ext') })];
  const authorizers = [externalAuthorizer('test/ext', `http://127.0.0.1:${decisions.port}/check`, { timeoutMs: 10_000 })];
  const gw = await startTestGateway(t, table(routes, [backend('be', [up.port])], undefined, authorizers), { tracing: { endpoint: rx.url, batchDelayMs: 20 } });

  const client = request({ host: '127.0.0.1', port: gw.port, path: '/ext/a', headers: { 'x-token': 'tok', 'x-request-id': 'otel-gone' }, agent: false });
  client.on('error', () => {});
  client.end();
  await eventually(async () => pending !== null, 'the gateway asked for a decision');
  client.destroy();
  await eventually(() => new Promise<boolean>((resolve) => gw.server.getConnections((_err, n) => resolve(n === 0))), 'the gateway saw the client go');
  (pending as ServerResponse | null)?.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ allow: true, consumer: 'bob', ttl: 0 }));

  const span = await spanOfRequest(rx, 'otel-gone');
  assert.equal(span.attributes['http.response.status_code'], 499);
  assert.equal(span.attributes['error.type'], 'GATEHOUSE_ABORTED');
  assert.equal(span.statusCode, 0, "the client's doing, not the server's");
  assert.equal(span.attributes['gatehouse.consumer'], 'bob');
  assert.equal(span.attributes['gatehouse.upstream'], undefined, 'never forwarded');
  assert.equal(up.hits(), 0);
});

test("sampling is parent-based: a client's sampled flag decides for its trace, the ratio for new ones", async (t) => {
  const { gw, rx } = await setup(t, { sample: 0 });
  // Ratio 0: a new trace is not sampled, and the upstream is told so.
  const fresh = upstreamTraceparent(await send(gw.port, '/open', { headers: { 'x-request-id': 'otel-ratio' } }));
  assert.equal(fresh[3], '00', 'not sampled');
  // The client did not sample its trace: neither does the gateway; its flags and trace id go on.
  const unsampled = upstreamTraceparent(await send(gw.port, '/open', { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_PARENT}-00`, 'x-request-id': 'otel-parent-no' } }));
  assert.equal(unsampled[1], CLIENT_TRACE);
  assert.notEqual(unsampled[2], CLIENT_PARENT);
  assert.equal(unsampled[3], '00');
  // The client sampled its trace: exported whatever the ratio. Sent last, so once it arrives the two before would
  // have too (spans are exported in the order they end).
  const sampled = upstreamTraceparent(await send(gw.port, '/open', { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_PARENT}-01`, 'x-request-id': 'otel-parent-yes' } }));
  const span = await spanWithId(rx, sampled[2] as string);
  assert.equal(span.parentSpanId, CLIENT_PARENT);
  assert.deepEqual(
    rx.spans().map((s) => s.attributes['gatehouse.request_id']),
    ['otel-parent-yes'],
  );
  // The access log still has every request, sampled or not.
  for (const id of ['otel-ratio', 'otel-parent-no', 'otel-parent-yes']) accessLine(gw, id);
});

test('a collector that is down: requests succeed, the failure is logged once (no secret), spans count as failed, and export resumes when it is back', async (t) => {
  const port = await refusedPort();
  const collectorSecret = 'collector-token-8c1d2e3f4a5b';
  const { gw } = await setup(t, { endpoint: `http://127.0.0.1:${port}/v1/traces`, exportTimeoutMs: 300, headers: { authorization: `Bearer ${collectorSecret}` } });
  const failed = (): Promise<number> => metricValue(gw.adminPort, SPANS, { result: 'failed' });
  for (let i = 0; i < 5; i++) assert.equal((await send(gw.port, '/open')).status, 200);
  await eventually(async () => (await failed()) >= 5, 'the first spans fail to export');
  for (let i = 0; i < 5; i++) assert.equal((await send(gw.port, '/open')).status, 200);
  await eventually(async () => (await failed()) >= 10, 'later spans fail too');
  const warnings = gw.logs.lines.filter((l) => l.msg === 'OTLP span export failed; spans are dropped until the collector answers');
  assert.equal(warnings.length, 1, 'rate-limited: one line for several failed exports');
  assert.equal(warnings[0]?.error, 'ECONNREFUSED');
  assert.ok(!JSON.stringify(gw.logs.lines).includes(collectorSecret), 'the collector credentials are never logged');

  // The collector comes back on the same port: the next export goes through, and the recovery is logged.
  const rx = await startOtlpReceiver(port);
  closeAfter(t, rx);
  assert.equal((await send(gw.port, '/open', { headers: { 'x-request-id': 'otel-back' } })).status, 200);
  await spanOfRequest(rx, 'otel-back');
  assert.equal(rx.requests[0]?.headers.authorization, `Bearer ${collectorSecret}`, 'the configured headers are sent');
  await eventually(async () => gw.logs.lines.some((l) => l.msg === 'OTLP span export recovered'), 'the recovery logged');
  assert.ok((await metricValue(gw.adminPort, SPANS, { result: 'exported' })) >= 1);
});

test('a collector that refuses (HTTP 400): logged with the status, requests unaffected', async (t) => {
  const { gw, rx } = await setup(t);
  rx.answerWith(400);
  assert.equal((await send(gw.port, '/open')).status, 200);
  await eventually(async () => (await metricValue(gw.adminPort, SPANS, { result: 'failed' })) >= 1, 'the span counted as failed');
  const warning = gw.logs.lines.find((l) => l.msg === 'OTLP span export failed; spans are dropped until the collector answers');
  assert.equal(warning?.error, 'HTTP 400');
});

test('a collector that does not answer: the queue is bounded, spans beyond it are dropped and counted, requests unaffected', async (t) => {
  const { gw, rx } = await setup(t, { maxQueueSize: 4, maxExportBatchSize: 2, batchDelayMs: 10, exportTimeoutMs: 30_000 });
  rx.hold();
  assert.equal((await send(gw.port, '/open')).status, 200);
  // The first export is in flight and unanswered: the processor exports one batch at a time, so later spans queue.
  await eventually(async () => rx.requests.length === 1, 'the first export sent');
  for (let i = 0; i < 20; i++) assert.equal((await send(gw.port, '/open')).status, 200);
  const metrics = await scrapeMetrics(gw.adminPort);
  assert.match(metrics, /^gatehouse_otlp_queue_spans 4$/m, 'the queue is full');
  assert.equal(await metricValue(gw.adminPort, SPANS, { result: 'dropped' }), 16, '20 spans, 4 queued, 16 dropped');
  rx.release();
  await eventually(async () => (await metricValue(gw.adminPort, SPANS, { result: 'exported' })) === 5, 'the held span and the queued ones exported');
  assert.equal(rx.spans().length, 5);
});

test('without an endpoint nothing is exported and no tracer exists; the traceparent is still made', async (t) => {
  const { gw, rx } = await setup(t, null);
  const reply = await send(gw.port, '/open?x=1', { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_PARENT}-01` } });
  assert.equal(reply.status, 200);
  assert.equal(upstreamTraceparent(reply)[1], CLIENT_TRACE);
  assert.equal((await send(gw.port, '/down')).status, 502);
  assert.doesNotMatch(await scrapeMetrics(gw.adminPort), /gatehouse_otlp/, 'no exporter metrics: no tracer');
  await gw.close(); // what a tracer would flush at close
  assert.equal(rx.requests.length, 0);
});

test('`gatehouse standalone --otlp-endpoint --otlp-headers-file`: spans exported with the headers from the file, queued spans flushed at shutdown', async (t) => {
  const rx = await startOtlpReceiver();
  const up = await startEcho('up');
  closeAfter(t, rx, up);
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-otlp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const token = 'collector-token-3e4f5a6b7c8d';
  await writeFile(join(dir, 'otlp-headers'), `# the collector's token\nAuthorization: Bearer ${token}\nX-Scope-OrgID: tenant-1\n`);
  const config = await mkdtemp(join(dir, 'config-'));
  await writeFile(
    join(config, 'route.yaml'),
    `apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata: { name: traced, namespace: default }
spec:
  rules:
    - matches: [{ path: { type: Prefix, value: /traced } }]
      backends: [{ url: "http://127.0.0.1:${up.port}" }]
`,
  );
  // The default batch delay (5 s) is longer than this test: the span can only arrive through the flush at shutdown.
  const gw = await startStandalone(config, ['--otlp-endpoint', rx.url, '--otlp-headers-file', join(dir, 'otlp-headers'), '--otlp-sample', '1']);
  t.after(() => gw.stop());
  const res = await fetch(`http://127.0.0.1:${gw.port}/traced/a?q=1`, { headers: { 'x-request-id': 'otel-cli' } });
  assert.equal(res.status, 200);
  const sent = TRACEPARENT.exec(String(((await res.json()) as EchoReply).headers.traceparent));
  await gw.stop();
  const span = rx.spans().find((s) => s.attributes['gatehouse.request_id'] === 'otel-cli');
  assert.ok(span, 'exported by the flush at shutdown');
  assert.equal(span.spanId, sent?.[2]);
  assert.equal(span.attributes['gatehouse.route'], 'default/traced/r0/m0');
  assert.equal(span.resource['service.name'], 'gatehouse-proxy');
  assert.match(String(span.resource['service.version']), /^\d+\.\d+\.\d+/);
  assert.match(String(span.resource['service.instance.id']), /-\d+$/, 'host-pid');
  assert.equal(rx.requests[0]?.headers.authorization, `Bearer ${token}`);
  assert.equal(rx.requests[0]?.headers['x-scope-orgid'], 'tenant-1');
  assert.ok(!`${gw.stdout()}${gw.stderr()}`.includes(token), 'the token is never logged');
  assert.match(gw.stdout(), /exporting request spans over OTLP\/HTTP/);
});

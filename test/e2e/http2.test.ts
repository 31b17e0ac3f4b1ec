// HTTP/2 on the TLS port, with real clients (node:http2, node:https, curl --http2 / --http1.1) against one gateway:
// the same routes and errors over both protocols, bodies streamed both ways, a client's RST_STREAM aborting the
// upstream request, GOAWAY on shutdown, and a rapid-reset flood that neither takes the process down nor leaks
// upstream requests.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants as h2, type ServerHttp2Session } from 'node:http2';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEcho, startSlow, startUpstream, type EchoReply } from './helpers/upstreams.ts';
import { backend, route, table } from './helpers/tables.ts';
import { closeAfter, startTestGateway, type Gateway, type LogSink } from './helpers/gateway.ts';
import { selfSignedLocalhost } from './helpers/self-signed.ts';
import { h2request, h2session } from './helpers/http2-client.ts';
import { eventually, untilSeen } from '../support/wait-for.ts';
import type { TableBackend, TableRoute } from '../../proxy/table/table-schema.ts';

const run = promisify(execFile);
const pair = selfSignedLocalhost();
const caDir = mkdtempSync(join(tmpdir(), 'gatehouse-h2-ca-'));
const caFile = join(caDir, 'ca.pem');
writeFileSync(caFile, pair.cert);
after(() => rmSync(caDir, { recursive: true, force: true }));

const PSEUDO = [':method', ':path', ':scheme', ':authority'];
const MB = 1024 * 1024;

type TlsGateway = Gateway & { logs: LogSink; tlsPort: number };

async function gatewayWith(t: TestContext, routes: TableRoute[], backends: TableBackend[]): Promise<TlsGateway> {
  // The certificate is the table's default ("*"): what any SNI name, or none, is answered with.
  const served = { ...table(routes, backends), certificates: [{ id: 'default/h2', certPem: pair.cert.toString(), keyPem: pair.key.toString() }], tlsHosts: [{ id: '*', certificate: 'default/h2' }] };
  const gw = await startTestGateway(t, served, { https: { port: 0 } });
  return Object.assign(gw, { tlsPort: gw.httpsPort as number });
}

/** curl against the TLS port: the body, the protocol curl negotiated ("2", "1.1") and the status. */
async function curl(port: number, path: string, args: string[]): Promise<{ version: string; status: number; body: string }> {
  const url = `https://localhost:${port}${path}`;
  const { stdout } = await run('curl', ['-sS', '--cacert', caFile, '--max-time', '10', ...args, '-w', '\n%{http_version} %{response_code}', url]);
  const cut = stdout.lastIndexOf('\n');
  const [version, status] = stdout.slice(cut + 1).split(' ');
  return { version: version ?? '', status: Number(status), body: stdout.slice(0, cut) };
}

/** node:https offering HTTP/1.1 by ALPN (as browsers and curl --http1.1 do), trusting the test certificate. */
const H1_OVER_TLS = { ALPNProtocols: ['http/1.1'], ca: pair.cert };

/** node:https (HTTP/1.1 over TLS) on the same port; a new connection unless `agent` keeps one. */
function h1(port: number, path: string, method = 'GET', body?: string, agent = new HttpsAgent(H1_OVER_TLS)): Promise<{ status: number; headers: Record<string, unknown>; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', servername: 'localhost', port, path, method, agent }, (res) => {
      let text = '';
      const alpn = (res.socket as TLSSocket).alpnProtocol;
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, alpn }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('HTTP/2 and HTTP/1.1 on one TLS port: same routes, Host from :authority, no pseudo-headers upstream, bodies both ways, JSON errors', async (t) => {
  const echo = await startEcho('echo');
  closeAfter(t, echo);
  const gw = await gatewayWith(t, [route('api', '/api', ['be'], { maxBodyBytes: 1000, methods: ['GET', 'POST'] })], [backend('be', [echo.port])]);
  const session = await h2session(t, gw.tlsPort, pair.cert);
  assert.equal(session.alpnProtocol, 'h2');

  const got = await h2request(session, { ':path': '/api/pets?x=1' });
  assert.equal(got.status, 200);
  const seen = JSON.parse(got.body) as EchoReply;
  assert.equal(seen.path, '/api/pets');
  assert.equal(seen.query, 'x=1');
  assert.equal(seen.headers.host, `localhost:${gw.tlsPort}`, 'the upstream gets a Host: the client sent only :authority');
  for (const name of PSEUDO) assert.equal(seen.headers[name], undefined, `${name} is not forwarded`);
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'the client address comes from the session socket');
  assert.equal(seen.headers['x-forwarded-host'], `localhost:${gw.tlsPort}`);
  // The upstream's hop-by-hop headers (Connection, Keep-Alive and what Connection names) never reach an h2 client.
  for (const name of ['connection', 'keep-alive', 'x-hop', 'transfer-encoding']) assert.equal(got.headers[name], undefined, name);
  assert.deepEqual(got.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(got.headers['x-request-id'], seen.headers['x-request-id']);

  // A body with no Content-Length (h2 has no chunked encoding: the stream carries it) and one with it.
  const posted = await h2request(session, { ':method': 'POST', ':path': '/api/pets' }, ['hello, ', 'h2'], 10_000);
  assert.equal(posted.status, 200);
  assert.equal((JSON.parse(posted.body) as EchoReply).body, 'hello, h2');
  const sized = await h2request(session, { ':method': 'POST', ':path': '/api/pets', 'content-length': '5' }, ['abcde']);
  assert.equal((JSON.parse(sized.body) as EchoReply).body, 'abcde');

  // The gateway's own answers, over h2, are JSON like over h1; the 413s (declared and streamed past the limit) would
  // carry Connection: close over HTTP/1.1, which HTTP/2 forbids.
  const missing = await h2request(session, { ':path': '/nowhere' });
  assert.equal(missing.status, 404);
  assert.equal((JSON.parse(missing.body) as { error: string }).error, 'no route');
  const wrongMethod = await h2request(session, { ':method': 'DELETE', ':path': '/api/pets' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.allow, 'GET, HEAD, POST');
  const declared = await h2request(session, { ':method': 'POST', ':path': '/api/pets', 'content-length': '2000' }, [Buffer.alloc(2000)]);
  assert.equal(declared.status, 413);
  assert.equal(declared.headers.connection, undefined);
  const streamed = await h2request(session, { ':method': 'POST', ':path': '/api/pets' }, [Buffer.alloc(600), Buffer.alloc(600)]);
  assert.equal(streamed.status, 413);
  assert.equal((JSON.parse(streamed.body) as { error: string }).error, 'request body too large');
  // The session survived all of that: one more request on it.
  assert.equal((await h2request(session, { ':path': '/api/pets' })).status, 200);
  assert.equal(session.destroyed, false);

  // HTTP/1.1 on the same port, same route and answers.
  const viaH1 = await h1(gw.tlsPort, '/api/pets', 'POST', 'over h1');
  assert.equal(viaH1.alpn, 'http/1.1');
  assert.equal(viaH1.status, 200);
  assert.equal((JSON.parse(viaH1.body) as EchoReply).body, 'over h1');
  assert.equal((await h1(gw.tlsPort, '/nowhere')).status, 404);

  // curl, both ways.
  const c2 = await curl(gw.tlsPort, '/api/pets', ['--http2', '-d', 'from curl']);
  assert.deepEqual([c2.version, c2.status], ['2', 200]);
  assert.equal((JSON.parse(c2.body) as EchoReply).body, 'from curl');
  const c1 = await curl(gw.tlsPort, '/api/pets', ['--http1.1']);
  assert.deepEqual([c1.version, c1.status], ['1.1', 200]);
  const c404 = await curl(gw.tlsPort, '/nowhere', ['--http2']);
  assert.deepEqual([c404.version, c404.status], ['2', 404]);
  assert.equal((JSON.parse(c404.body) as { error: string }).error, 'no route');
  const tooBig = await curl(gw.tlsPort, '/api/pets', ['--http2', '--data-binary', 'x'.repeat(2000)]);
  assert.deepEqual([tooBig.version, tooBig.status], ['2', 413]);

  // Access log and metrics count h2 requests like any other.
  const lines = gw.logs.lines.filter((l) => l.msg === 'request');
  assert.ok(lines.some((l) => l.status === 413 && l.route === 'api'));
  assert.ok(lines.filter((l) => l.status === 200).length >= 6);
  const metrics = await gw.metrics.registry.metrics();
  const ok = /gatehouse_requests_total\{route="api",method="POST",status_class="2xx"\} ([0-9]+)/.exec(metrics);
  assert.ok(ok !== null && Number(ok[1]) >= 4, 'POSTs over both protocols counted');
});

test('HTTP/2: a large download streams down, and an upload streams up before the client has finished sending', async (t) => {
  const echo = await startEcho('echo');
  let firstChunkSeen = false;
  let received = 0;
  const sink = await startUpstream('sink', (req, res) => {
    req.on('data', (c: Buffer) => {
      firstChunkSeen = true;
      received += c.length;
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(String(received)));
  });
  closeAfter(t, echo, sink);
  const gw = await gatewayWith(t, [route('down', '/down', ['e']), route('up', '/up', ['s'], { maxBodyBytes: 64 * MB })], [backend('e', [echo.port]), backend('s', [sink.port])]);
  const session = await h2session(t, gw.tlsPort, pair.cert);

  const down = await h2request(session, { ':path': `/down?bytes=${20 * MB}` }, [], 30_000);
  assert.equal(down.status, 200);
  assert.equal(down.body.length, 20 * MB);

  const stream = session.request({ ':method': 'POST', ':path': '/up' });
  let answer = '';
  stream.setEncoding('utf8').on('data', (d: string) => (answer += d));
  const ended = new Promise<void>((resolve) => stream.on('end', () => resolve()));
  stream.write(Buffer.alloc(64 * 1024, 1));
  // The upstream reads the first chunk while the client still holds the rest: the body is streamed, not buffered.
  await eventually(() => firstChunkSeen, 'the upstream to receive the first chunk of an unfinished upload', 10_000);
  for (let i = 0; i < 31; i++) stream.write(Buffer.alloc(64 * 1024, 1));
  stream.end();
  await ended;
  assert.equal(answer, String(32 * 64 * 1024));
});

test('Response trailers pass through to HTTP/2 clients (trailing HEADERS) and HTTP/1.1 clients (chunked), minus fields a trailer must not carry', async (t) => {
  const up = await startUpstream('trailers', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum, set-cookie' });
    res.write('part one, ');
    res.addTrailers({ 'x-checksum': 'sha256=abc', 'set-cookie': 'smuggled=1' });
    res.end('part two');
  });
  closeAfter(t, up);
  const gw = await gatewayWith(t, [route('r', '/', ['u'])], [backend('u', [up.port])]);
  const session = await h2session(t, gw.tlsPort, pair.cert);
  const got = await h2request(session, { ':path': '/t' });
  assert.equal(got.body, 'part one, part two');
  assert.equal(got.trailers['x-checksum'], 'sha256=abc');
  assert.equal(got.trailers['set-cookie'], undefined, 'a Set-Cookie in trailers is dropped');

  const viaH1 = await new Promise<Record<string, string | undefined>>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', servername: 'localhost', port: gw.tlsPort, path: '/t', agent: new HttpsAgent(H1_OVER_TLS) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.trailers));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(viaH1['x-checksum'], 'sha256=abc');
  assert.equal(viaH1['set-cookie'], undefined);
});

test('HTTP/2: a client resetting its stream (RST_STREAM) mid-response aborts the upstream request; the session lives on', async (t) => {
  const slow = await startSlow('slow');
  closeAfter(t, slow);
  const gw = await gatewayWith(t, [route('r', '/', ['s'])], [backend('s', [slow.port])]);
  const session = await h2session(t, gw.tlsPort, pair.cert);

  const stream = session.request({ ':path': '/dribble/1000/20' });
  stream.on('error', () => {});
  let bytes = 0;
  stream.on('data', (c: Buffer) => (bytes += c.length));
  await untilSeen('a few bytes of the dribbled response', () => bytes >= 3 && slow.open() === 1, () => `${bytes} bytes, ${slow.open()} open upstream`);
  stream.close(h2.NGHTTP2_CANCEL);
  await untilSeen('the upstream request to be aborted', () => slow.open() === 0, () => `${slow.open()} open upstream`);
  await untilSeen('a 499 in the access log', () => gw.logs.lines.some((l) => l.msg === 'request' && l.status === 499), () => JSON.stringify(gw.logs.lines.at(-1)));
  // Only that stream ended: the same session answers the next request.
  assert.equal((await h2request(session, { ':path': '/fast' })).body, 'fast slow');

  // Reset mid-upload: the upstream request (still receiving the body) is aborted too.
  const upload = session.request({ ':method': 'POST', ':path': '/delay/10000' });
  upload.on('error', () => {});
  upload.write(Buffer.alloc(1024));
  await untilSeen('the upload to reach the upstream', () => slow.open() === 1, () => `${slow.open()} open upstream`);
  upload.close(h2.NGHTTP2_CANCEL);
  await untilSeen('the upstream upload to be aborted', () => slow.open() === 0, () => `${slow.open()} open upstream`);
});

test('HTTP/2 shutdown: failReadiness sends GOAWAY while the stream in flight finishes; HTTP/1.1 keep-alive on the same port gets Connection: close', async (t) => {
  const slow = await startSlow('slow');
  closeAfter(t, slow);
  const gw = await gatewayWith(t, [route('r', '/', ['s'])], [backend('s', [slow.port])]);
  const session = await h2session(t, gw.tlsPort, pair.cert);
  const idle = await h2session(t, gw.tlsPort, pair.cert);
  assert.equal((await h2request(idle, { ':path': '/fast' })).status, 200);
  const goaways: Array<{ which: string; code: number }> = [];
  session.on('goaway', (code) => goaways.push({ which: 'busy', code }));
  idle.on('goaway', (code) => goaways.push({ which: 'idle', code }));
  const agent = new HttpsAgent({ ...H1_OVER_TLS, keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const before = await h1(gw.tlsPort, '/fast', 'GET', undefined, agent);
  assert.equal(before.headers.connection, 'keep-alive');

  const inFlight = h2request(session, { ':path': '/delay/400' });
  await untilSeen('the slow request to reach the upstream', () => slow.open() === 1, () => `${slow.open()} open`);
  gw.failReadiness('test shutdown');
  await untilSeen('GOAWAY on both sessions', () => goaways.length === 2, () => JSON.stringify(goaways));
  assert.ok(goaways.every((g) => g.code === h2.NGHTTP2_NO_ERROR));
  const answered = await inFlight;
  assert.equal(answered.status, 200, 'the stream in flight finishes after GOAWAY');
  assert.equal(answered.body, 'slow slow');
  await untilSeen('both sessions to close', () => session.closed && idle.closed, () => `busy closed ${session.closed}, idle closed ${idle.closed}`);

  // A new session during the shutdown delay is served, then told to go away after its first request.
  const late = await h2session(t, gw.tlsPort, pair.cert);
  let lateGoaway = false;
  late.on('goaway', () => (lateGoaway = true));
  assert.equal((await h2request(late, { ':path': '/fast' })).status, 200);
  await untilSeen('GOAWAY to a session opened while unready', () => lateGoaway, () => 'none yet');

  const after = await h1(gw.tlsPort, '/fast', 'GET', undefined, agent);
  assert.equal(after.headers.connection, 'close', 'HTTP/1.1 keeps its Connection: close');

  const { drained } = await gw.stopAccepting();
  await drained;
});

test('HTTP/2 limits: 100 concurrent streams, no extended CONNECT; a rapid-reset flood ends the session without taking the gateway down or leaking upstream requests', async (t) => {
  const slow = await startSlow('slow');
  closeAfter(t, slow);
  const gw = await gatewayWith(t, [route('r', '/', ['s'])], [backend('s', [slow.port])]);
  const session = await h2session(t, gw.tlsPort, pair.cert);
  await untilSeen('the server SETTINGS', () => session.remoteSettings.maxConcurrentStreams !== undefined, () => JSON.stringify(session.remoteSettings));
  assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
  assert.equal(session.remoteSettings.enableConnectProtocol, false, 'WebSockets over HTTP/2 (RFC 8441) are not offered');

  // Open a stream and reset it at once, over and over (CVE-2023-44487), bounded and on loopback. The gateway's side
  // of the session is watched: node's client does not always notice the connection going away while it floods.
  const serverSessions: Array<{ closed: boolean; error: string | null }> = [];
  gw.httpsServer?.on('session', (s: ServerHttp2Session) => {
    const seen = { closed: false, error: null as string | null };
    serverSessions.push(seen);
    s.on('error', (err) => (seen.error = err.message));
    s.once('close', () => (seen.closed = true));
  });
  const flood = await h2session(t, gw.tlsPort, pair.cert);
  let opened = 0;
  for (let i = 0; i < 5_000 && !flood.closed && !flood.destroyed; i++) {
    const s = flood.request({ ':path': '/delay/5000' });
    s.on('error', () => {});
    s.close(h2.NGHTTP2_CANCEL);
    opened++;
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  const floodSide = serverSessions.at(-1);
  await untilSeen('the gateway to end the flooding session', () => floodSide?.closed === true, () => `opened ${opened}, ${JSON.stringify(serverSessions)}`);
  t.diagnostic(`rapid reset: client opened ${opened} streams; gateway session error: ${floodSide?.error}; upstream saw ${slow.hits()} requests`);
  flood.destroy();
  // Every upstream request the flood caused is let go of (none waits out its 5 s delay), and far fewer reached it
  // than were opened.
  await untilSeen('no upstream request left open', () => slow.open() === 0, () => `${slow.open()} open upstream`, 4_000);
  assert.ok(slow.hits() < opened, `${slow.hits()} upstream requests for ${opened} streams`);

  // The gateway is fine: the other session, and a new one, are served.
  assert.equal((await h2request(session, { ':path': '/fast' })).body, 'fast slow');
  const fresh = await h2session(t, gw.tlsPort, pair.cert);
  assert.equal((await h2request(fresh, { ':path': '/fast' })).status, 200);
});

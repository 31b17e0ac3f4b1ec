// The HTTP/1.1 front door (docs/http-front-door.md), each behaviour against a real gateway and a real upstream that
// records what it received, with raw sockets where a well-behaved client would not send the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEcho, startSlow, startUpstream, type EchoReply } from './helpers/upstreams.ts';
import { backend, route, table } from './helpers/tables.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { errorBody, send } from './helpers/http-client.ts';
import { apiKeyAuthorizer, auth, newSalt } from './helpers/authorizers.ts';
import { openRaw, rawExchange, splitResponses, type RawResponse } from './helpers/raw-http.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startStandalone } from '../support/gatehouse-process.ts';

const CLOSE = 'Connection: close\r\n';

/** One raw request on its own connection, answered with one response (then closed). */
async function rawOne(port: number, text: string): Promise<RawResponse> {
  const responses = splitResponses(await rawExchange(port, text));
  assert.equal(responses.length, 1, `one response expected, got ${responses.map((r) => r.status).join(', ')}`);
  return responses[0] as RawResponse;
}

function json<T = Record<string, unknown>>(r: RawResponse): T {
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  return JSON.parse(r.body) as T;
}

test('request targets: absolute-form parsed by a URL parser, its authority wins over Host; userinfo, dot segments and %00 refused; escapes forwarded as sent', async (t) => {
  const api = await startEcho('api');
  const other = await startEcho('other');
  closeAfter(t, api, other);
  const gw = await startTestGateway(
    t,
    table([route('api', '/', ['be-api'], { hosts: ['api.example.com'] }), route('any', '/', ['be-other'])], [backend('be-api', [api.port]), backend('be-other', [other.port])]),
  );

  const absolute = await rawOne(gw.port, `GET http://API.Example.com:8080/items/%41?x=1 HTTP/1.1\r\nHost: other.example.com\r\n${CLOSE}\r\n`);
  assert.equal(absolute.status, 200);
  const seen = json<EchoReply>(absolute);
  assert.equal(seen.upstream, 'api', "the target's authority, not Host, picked the route");
  assert.equal(seen.path, '/items/%41', 'the path as the client sent it');
  assert.equal(seen.query, 'x=1');
  assert.equal(seen.headers.host, 'api.example.com:8080', 'Host upstream is the authority (RFC 9112 §3.2.2)');
  assert.equal(seen.headers['x-forwarded-host'], 'api.example.com:8080');

  const noPath = json<EchoReply>(await rawOne(gw.port, `GET http://api.example.com?q=1 HTTP/1.1\r\nHost: x\r\n${CLOSE}\r\n`));
  assert.equal(noPath.path, '/');
  assert.equal(noPath.query, 'q=1');

  for (const target of ['http://user:pw@api.example.com/', 'http://user@api.example.com/', 'http://@api.example.com/', 'http://api.example.com/a/../admin', 'http://api.example.com/a/%2e%2e/admin', 'ftp://api.example.com/', 'http:///a', 'http://exa_mple:99999/']) {
    const refused = await rawOne(gw.port, `GET ${target} HTTP/1.1\r\nHost: api.example.com\r\n${CLOSE}\r\n`);
    assert.equal(refused.status, 400, target);
    assert.equal(json(refused).error, 'malformed request target', target);
  }

  // %00 is refused in the path; every other escape reaches the upstream byte for byte, undecoded.
  const nul = await send(gw.port, '/files/a%00.txt');
  assert.equal(nul.status, 400);
  assert.equal(errorBody(nul).error, 'malformed request target');
  const escaped = await send(gw.port, '/files/a%2Fb%20c%41%2f%7E');
  assert.equal(escaped.status, 200);
  assert.equal(escaped.json<EchoReply>().path, '/files/a%2Fb%20c%41%2f%7E');
  assert.equal(api.hits(), 2, 'no refused target reached an upstream');
});

test('Host: exactly one, a valid host[:port], required on HTTP/1.1 but not 1.0; a trailing dot ignored for matching', async (t) => {
  const api = await startEcho('api');
  const other = await startEcho('other');
  closeAfter(t, api, other);
  const gw = await startTestGateway(
    t,
    table([route('api', '/', ['be-api'], { hosts: ['api.example.com'] }), route('any', '/', ['be-other'])], [backend('be-api', [api.port]), backend('be-other', [other.port])]),
  );

  for (const hosts of [['api.example.com', 'api.example.com'], ['api.example.com', 'evil.example.com']]) {
    const twice = await rawOne(gw.port, `GET / HTTP/1.1\r\nHost: ${hosts[0]}\r\nhost: ${hosts[1]}\r\n${CLOSE}\r\n`);
    assert.equal(twice.status, 400);
    assert.equal(json(twice).error, 'more than one host header');
  }
  for (const bad of ['a/b', 'a\\b', 'a..example.com', '.example.com', 'a:99999', 'a:b', 'a:', '[::1', '[::g]', 'exa mple.com', 'a@b', '']) {
    const refused = await rawOne(gw.port, `GET / HTTP/1.1\r\nHost: ${bad}\r\n${CLOSE}\r\n`);
    assert.equal(refused.status, 400, JSON.stringify(bad));
    assert.equal(json(refused).error, 'invalid host header', JSON.stringify(bad));
  }
  const missing = await rawOne(gw.port, `GET / HTTP/1.1\r\n${CLOSE}\r\n`);
  assert.equal(missing.status, 400);
  assert.equal(json(missing).error, 'missing host header');
  assert.equal(api.hits() + other.hits(), 0, 'none of those reached an upstream');

  // HTTP/1.0 may omit Host (as nginx): served by the routes for any host, with no X-Forwarded-Host.
  const old = await rawOne(gw.port, 'GET /legacy HTTP/1.0\r\nX-Forwarded-Host: evil.example.com\r\n\r\n');
  assert.equal(old.status, 200);
  const oldSeen = json<EchoReply>(old);
  assert.equal(oldSeen.upstream, 'other');
  assert.equal(oldSeen.headers['x-forwarded-host'], undefined, "the client's X-Forwarded-Host is never passed on");

  const dotted = await send(gw.port, '/', { headers: { host: 'API.Example.com.:8443', 'x-forwarded-host': 'evil.example.com' } });
  const dottedSeen = dotted.json<EchoReply>();
  assert.equal(dottedSeen.upstream, 'api', 'matched as api.example.com');
  assert.equal(dottedSeen.headers.host, 'API.Example.com.:8443', 'forwarded as sent');
  assert.equal(dottedSeen.headers['x-forwarded-host'], 'API.Example.com.:8443', "X-Forwarded-Host is the request's (validated) Host");

  for (const good of ['[::1]:8080', '127.0.0.1', 'under_score.example.com', 'localhost:80']) {
    const ok = await rawOne(gw.port, `GET / HTTP/1.1\r\nHost: ${good}\r\n${CLOSE}\r\n`);
    assert.equal(ok.status, 200, good);
  }
});

test('a parse error on a pipelined connection: earlier responses go out whole and in order, then the 400, then the close', async (t) => {
  const slow = await startSlow('slow');
  closeAfter(t, slow);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'])], [backend('be', [slow.port])]));
  const malformed = 'GET /x HTTP/1.1\r\nHost: a\r\nBad Header: y\r\n\r\n';

  // The upstream answers the first request 300 ms after the parser has already failed on the second.
  const waiting = splitResponses(await rawExchange(gw.port, `GET /delay/300 HTTP/1.1\r\nHost: a\r\n\r\n${malformed}`));
  assert.deepEqual(
    waiting.map((r) => r.status),
    [200, 400],
  );
  assert.equal(waiting[0]?.body, 'slow slow');
  assert.equal(JSON.parse(waiting[1]?.body ?? '').error, 'malformed request');

  // Two good requests ahead of it, the first with its body still dribbling out when the error is found.
  const streaming = splitResponses(await rawExchange(gw.port, `GET /dribble/5/60 HTTP/1.1\r\nHost: a\r\n\r\nGET /delay/50 HTTP/1.1\r\nHost: a\r\n\r\n${malformed}`));
  assert.deepEqual(
    streaming.map((r) => r.status),
    [200, 200, 400],
  );
  assert.equal(streaming[0]?.body, '.....');
  assert.equal(streaming[1]?.body, 'slow slow');

  // A header too large behind a response in progress: the same order, with 431.
  const oversized = splitResponses(await rawExchange(gw.port, `GET /delay/200 HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`));
  assert.deepEqual(
    oversized.map((r) => r.status),
    [200, 431],
  );

  // With no response in progress the error is answered at once.
  const alone = splitResponses(await rawExchange(gw.port, malformed));
  assert.deepEqual(
    alone.map((r) => r.status),
    [400],
  );
});

test('headers: Proxy stripped; Forwarded and X-Real-IP only from trusted proxies; method overrides only naming a method the route allows', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const routes = [
    route('post-only', '/post-only', ['be'], { methods: ['POST'] }),
    route('any', '/any', ['be']),
    route('stripped', '/stripped', ['be'], { requestHeaders: { set: [], add: [], remove: ['x-http-method-override', 'x-http-method', 'x-method-override'] } }),
    route('real-ip', '/real-ip', ['be'], { requestHeaders: { set: [['x-real-ip', 'set-by-route']], add: [], remove: [] } }),
  ];
  const claims = { proxy: 'http://evil.example.com:3128', forwarded: 'for=203.0.113.9;proto=https', 'x-real-ip': '203.0.113.9' };

  const untrusted = await startTestGateway(t, table(routes, [backend('be', [a.port])]));
  const fromClient = (await send(untrusted.port, '/any', { headers: claims })).json<EchoReply>();
  assert.equal(fromClient.headers.proxy, undefined, 'httpoxy');
  assert.equal(fromClient.headers.forwarded, undefined, "an untrusted peer's Forwarded is removed");
  assert.equal(fromClient.headers['x-real-ip'], undefined, "an untrusted peer's X-Real-IP is removed");
  assert.equal((await send(untrusted.port, '/real-ip', { headers: claims })).json<EchoReply>().headers['x-real-ip'], 'set-by-route', 'a route may still set it');

  const trusted = await startTestGateway(t, table(routes, [backend('be', [a.port])]), { trustedProxies: ['127.0.0.1/32'] });
  const fromProxy = (await send(trusted.port, '/any', { headers: claims })).json<EchoReply>();
  assert.equal(fromProxy.headers.proxy, undefined, 'httpoxy, whoever sends it');
  assert.equal(fromProxy.headers.forwarded, claims.forwarded, "a trusted proxy's Forwarded is passed on");
  assert.equal(fromProxy.headers['x-real-ip'], claims['x-real-ip']);

  const override = (path: string, value: string, name = 'x-http-method-override'): Promise<string | string[] | undefined> =>
    send(untrusted.port, path, { method: 'POST', headers: { [name]: value } }).then((r) => r.json<EchoReply>().headers[name]);
  assert.equal(await override('/post-only', 'DELETE'), undefined, 'a method the route does not allow');
  assert.equal(await override('/post-only', 'delete', 'x-http-method'), undefined);
  assert.equal(await override('/post-only', 'PUT', 'x-method-override'), undefined);
  assert.equal(await override('/post-only', 'post'), 'post', 'the method the route allows');
  assert.equal(await override('/any', 'DELETE'), 'DELETE', 'a route answering every method');
  assert.equal(await override('/any', 'TRACE'), undefined, 'TRACE needs a route listing it, overridden or not');
  assert.equal(await override('/stripped', 'DELETE'), undefined, 'requestHeaders.remove takes them out on any route');
});

test('TRACE only on a rule listing it (405 otherwise), CONNECT refused, HTTP/0.9 and HTTP/2.0-over-1 refused with 505', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, table([route('diag', '/diag', ['be'], { methods: ['GET', 'TRACE'] }), route('any', '/', ['be'])], [backend('be', [a.port])]));

  const refused = await send(gw.port, '/anything', { method: 'TRACE' });
  assert.equal(refused.status, 405);
  assert.equal(errorBody(refused).error, 'method not allowed');
  assert.equal(refused.headers.allow, 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT');
  const optedIn = await send(gw.port, '/diag', { method: 'TRACE' });
  assert.equal(optedIn.status, 200);
  assert.equal(optedIn.json<EchoReply>().method, 'TRACE');
  assert.equal(a.hits(), 1);

  const connect = await rawOne(gw.port, 'CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n');
  assert.equal(connect.status, 405);
  assert.equal(json(connect).error, 'method not allowed');
  assert.equal(connect.headers.connection, 'close');

  for (const line of ['GET /\r\n\r\n', 'GET / HTTP/0.9\r\nHost: a\r\n\r\n', `GET / HTTP/2.0\r\nHost: a\r\n${CLOSE}\r\n`]) {
    const r = await rawOne(gw.port, line);
    assert.equal(r.status, 505, JSON.stringify(line));
    assert.equal(json(r).error, 'http version not supported');
  }
  assert.equal(a.hits(), 1, 'none of them reached the upstream');
});

test('Expect: 100-continue is answered only after the route, the authorizer and the body-size check admit the request', async (t) => {
  const a = await startEcho('a');
  // An upstream that sends interim responses of its own before reading the body: /100 an unasked 100 Continue (the
  // gateway never forwards Expect), /102 Processing, /103 Early Hints.
  const eager = await startUpstream('eager', (req, res) => {
    const interim = req.url?.slice('/eager/'.length);
    if (interim === '100') res.writeContinue();
    else if (interim === '102') res.writeProcessing();
    else if (interim === '103') res.writeEarlyHints({ link: '</style.css>; rel=preload' });
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes, expect: req.headers.expect ?? null })));
  });
  closeAfter(t, a, eager);
  const salt = newSalt();
  const gw = await startTestGateway(
    t,
    table(
      [route('keys', '/keys', ['be'], { auth: auth('test/keys'), maxBodyBytes: 100 }), route('eager', '/eager', ['be-eager'])],
      [backend('be', [a.port]), backend('be-eager', [eager.port])],
      undefined,
      [apiKeyAuthorizer('test/keys', salt, [{ key: 'k-alice', consumer: 'alice' }])],
    ),
  );
  const head = (path: string, extra: string, length: number): string => `POST ${path} HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n${extra}\r\n`;

  // Refused by the authorizer: 401 without a 100, and the body never sent; the connection then closes.
  const denied = splitResponses(await rawExchange(gw.port, head('/keys', '', 5)));
  assert.deepEqual(
    denied.map((r) => r.status),
    [401],
  );
  assert.equal(denied[0]?.headers.connection, 'close', 'the client may send the body anyway: the connection is not reused');
  assert.equal(a.hits(), 0);

  // Declared too large, with a good key: 413, no 100.
  const large = splitResponses(await rawExchange(gw.port, head('/keys', 'X-Api-Key: k-alice\r\n', 1_000)));
  assert.deepEqual(
    large.map((r) => r.status),
    [413],
  );

  // No route: 404, no 100.
  assert.deepEqual(
    splitResponses(await rawExchange(gw.port, head('/nowhere', '', 5))).map((r) => r.status),
    [404],
  );

  // Admitted: 100 Continue first; the body goes only after it, and the upstream never sees Expect.
  const conn = await openRaw(gw.port);
  conn.write(head('/keys', `X-Api-Key: k-alice\r\n${CLOSE}`, 5));
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (conn.received().includes('\r\n\r\n')) resolve();
      else conn.socket.once('data', check);
    };
    check();
  });
  assert.equal(conn.received(), 'HTTP/1.1 100 Continue\r\n\r\n');
  conn.write('hello');
  const admitted = splitResponses((await conn.closed).text);
  assert.deepEqual(
    admitted.map((r) => r.status),
    [100, 200],
  );
  const seen = json<EchoReply>(admitted[1] as RawResponse);
  assert.equal(seen.body, 'hello');
  assert.equal(seen.headers.expect, undefined);

  // An upstream's 102 and 103 are not passed on and do not disturb the exchange.
  for (const interim of ['102', '103']) {
    const viaEager = splitResponses(await rawExchange(gw.port, `POST /eager/${interim} HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n${CLOSE}\r\nabc`));
    assert.deepEqual(
      viaEager.map((r) => r.status),
      [200],
      interim,
    );
    assert.deepEqual(json(viaEager[0] as RawResponse), { bytes: 3, expect: null });
  }
  // undici, the upstream client, takes an unasked 100 Continue for a broken response: the client gets a clean 502
  // (never a hang, never a second 100), and the next request is served as usual.
  const unasked = await rawOne(gw.port, `POST /eager/100 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n${CLOSE}\r\nabc`);
  assert.equal(unasked.status, 502);
  assert.equal(json(unasked).error, 'upstream connection failed');
  assert.equal((await send(gw.port, '/eager/none', { method: 'POST', body: 'abc' })).status, 200);

  // Any other expectation: 417.
  const odd = await rawOne(gw.port, `POST /eager HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\nContent-Length: 0\r\n${CLOSE}\r\n`);
  assert.equal(odd.status, 417);
  assert.equal(json(odd).error, 'unsupported expectation');
});

test('slow clients: the header and body timeouts answer 408 within a second of their setting; a steady slow body is not cut', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'])], [backend('be', [a.port])]), { clientTimeouts: { headerMs: 1_000, bodyMs: 1_000 } });
  const within = (elapsed: number, what: string): void => {
    assert.ok(elapsed >= 950 && elapsed < 2_000, `${what}: fired after ${Math.round(elapsed)} ms, set to 1000 ms`);
  };

  // Headers that stop half way.
  const partial = await openRaw(gw.port);
  const partialFrom = performance.now();
  partial.write('GET / HTTP/1.1\r\nHost: a\r\n');
  const partialEnd = await partial.closed;
  within(partialEnd.at - partialFrom, 'header timeout');
  const partialReply = splitResponses(partialEnd.text);
  assert.equal(partialReply[0]?.status, 408);
  assert.equal(JSON.parse(partialReply[0]?.body ?? '').error, 'request header timeout');

  // A connection that never sends a byte.
  const silentFrom = performance.now();
  const silent = await openRaw(gw.port);
  const silentEnd = await silent.closed;
  within(silentEnd.at - silentFrom, 'header timeout, no bytes at all');
  assert.equal(splitResponses(silentEnd.text)[0]?.status, 408);

  // A body that stops: 408 a second after its last byte, and the upstream's request is abandoned.
  const stalled = await openRaw(gw.port);
  stalled.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
  const stalledFrom = performance.now();
  const stalledEnd = await stalled.closed;
  within(stalledEnd.at - stalledFrom, 'body timeout');
  const stalledReply = splitResponses(stalledEnd.text);
  assert.equal(stalledReply[0]?.status, 408);
  assert.equal(JSON.parse(stalledReply[0]?.body ?? '').error, 'request body timeout');
  const logged = gw.logs.lines.find((l) => l.status === 408);
  assert.equal(logged?.error, 'GATEHOUSE_CLIENT_BODY_TIMEOUT');

  // A body sent a byte every 300 ms for 2.4 s: never a pause of a second, so it is served whole (nginx's rule).
  const steady = await openRaw(gw.port);
  steady.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n${CLOSE}\r\n`);
  let sent = 0;
  const tick = setInterval(() => {
    steady.write('x');
    if (++sent === 8) clearInterval(tick);
  }, 300);
  t.after(() => clearInterval(tick));
  const steadyReply = splitResponses((await steady.closed).text);
  assert.equal(steadyReply[0]?.status, 200);
  assert.equal(JSON.parse(steadyReply[0]?.body ?? '').bodyBytes, 8);
});

test('the timeout flags: `gatehouse standalone --client-header-timeout 1s` closes a silent connection with 408 within a second; 0s is refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-front-door-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const gw = await startStandalone(dir, ['--client-header-timeout', '1s', '--client-body-timeout', '1500ms']);
  t.after(() => gw.stop());
  const from = performance.now();
  const silent = await openRaw(gw.port);
  const end = await silent.closed;
  const elapsed = end.at - from;
  assert.ok(elapsed >= 950 && elapsed < 2_000, `fired after ${Math.round(elapsed)} ms, set to 1000 ms`);
  assert.equal(splitResponses(end.text)[0]?.status, 408);

  const refused = await runCli(['standalone', '--config', dir, '--client-body-timeout', '0s']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /client-body-timeout/);
});

// Every error status the gateway answers with, each produced by a real request, each a small JSON body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'node:http';
import { refusedPort, startEcho, startResetting, startSlow } from './helpers/upstreams.ts';
import { backend, route, table } from './helpers/tables.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { errorBody, send } from './helpers/http-client.ts';

test('404 no route, 405 with Allow, 400 for a malformed target', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, table([route('r', '/only', ['be'], { methods: ['GET', 'POST'] })], [backend('be', [a.port])]));

  const missing = await send(gw.port, '/elsewhere', { headers: { 'x-request-id': 'req-404' } });
  assert.equal(missing.status, 404);
  assert.deepEqual(errorBody(missing), { error: 'no route', requestId: 'req-404' });

  const wrongMethod = await send(gw.port, '/only', { method: 'DELETE' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(errorBody(wrongMethod).error, 'method not allowed');
  assert.equal(wrongMethod.headers.allow, 'GET, HEAD, POST');

  for (const target of ['/only/../admin', '/only/%2e%2e/admin', '/only/%zz']) {
    const bad = await send(gw.port, target);
    assert.equal(bad.status, 400, target);
    assert.equal(errorBody(bad).error, 'malformed request target');
  }

  // A request line Node's parser rejects still gets the JSON shape.
  const raw = await rawExchange(gw.port, 'GET /only HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n');
  assert.match(raw, /^HTTP\/1\.1 400/);
  assert.match(raw, /"error":"malformed request"/);
});

test('413: a declared Content-Length over the limit at once, a chunked body when it crosses the limit', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'], { maxBodyBytes: 1000 })], [backend('be', [a.port])]));

  const ok = await send(gw.port, '/', { method: 'POST', body: 'x'.repeat(1000) });
  assert.equal(ok.status, 200);
  assert.equal(ok.json<{ bodyBytes: number }>().bodyBytes, 1000);

  // Declared: answered before the body is sent at all (the client only sends headers).
  const declared = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/', headers: { 'content-length': '5000000' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  assert.equal(declared.status, 413);
  assert.equal(JSON.parse(declared.body).error, 'request body too large');

  // Chunked: counted while streaming; the upstream never answers first, so the client gets a 413.
  const hitsBefore = a.hits();
  const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/', headers: { 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    let sent = 0;
    const tick = setInterval(() => {
      if (sent >= 20 || req.destroyed) {
        clearInterval(tick);
        return;
      }
      req.write('y'.repeat(200));
      sent++;
    }, 5);
  });
  assert.equal(chunked.status, 413);
  assert.equal(JSON.parse(chunked.body).error, 'request body too large');
  assert.ok(a.hits() <= hitsBefore + 1);
});

test('502 when the endpoint refuses or resets; 503 once it is ejected or when a backend has no endpoints', async (t) => {
  const reset = await startResetting('reset');
  closeAfter(t, reset);
  const dead = await refusedPort();
  const gw = await startTestGateway(
    t,
    table(
      [route('dead', '/dead', ['be-dead']), route('reset', '/reset', ['be-reset']), route('empty', '/empty', ['be-empty'])],
      [backend('be-dead', [dead]), backend('be-reset', [reset.port]), backend('be-empty', [])],
    ),
    { ejection: { baseMs: 60_000, maxMs: 60_000 } },
  );
  const refused = await send(gw.port, '/dead');
  assert.equal(refused.status, 502);
  assert.equal(errorBody(refused).error, 'upstream unreachable');

  const ejected = await send(gw.port, '/dead');
  assert.equal(ejected.status, 503, 'the only endpoint is now ejected');
  assert.equal(errorBody(ejected).error, 'no healthy endpoint');

  const wasReset = await send(gw.port, '/reset');
  assert.equal(wasReset.status, 502);
  assert.equal(errorBody(wasReset).error, 'upstream connection failed');

  const empty = await send(gw.port, '/empty');
  assert.equal(empty.status, 503);
  assert.equal(errorBody(empty).error, 'no healthy endpoint');
});

test('504 when the upstream is idle past idleMs before headers, or the whole request exceeds requestMs', async (t) => {
  const slow = await startSlow('slow');
  closeAfter(t, slow);
  const gw = await startTestGateway(
    t,
    table(
      [
        route('idle', '/idle', ['be'], { rewrite: { kind: 'prefix', from: '/idle', to: '' }, timeouts: { connectMs: 1_000, requestMs: 10_000, idleMs: 200 } }),
        route('whole', '/whole', ['be'], { rewrite: { kind: 'prefix', from: '/whole', to: '' }, timeouts: { connectMs: 1_000, requestMs: 300, idleMs: 5_000 } }),
      ],
      [backend('be', [slow.port])],
    ),
  );
  let started = performance.now();
  const idle = await send(gw.port, '/idle/delay/3000');
  assert.equal(idle.status, 504);
  assert.equal(errorBody(idle).error, 'upstream timeout');
  assert.ok(performance.now() - started < 2_500, 'answered at the idle timeout, not when the upstream replied');

  started = performance.now();
  const whole = await send(gw.port, '/whole/delay/3000');
  assert.equal(whole.status, 504);
  assert.ok(performance.now() - started < 2_500);

  // Headers already sent: the only honest signal left is cutting the response short.
  await assert.rejects(send(gw.port, '/whole/dribble/50/20'), /aborted|socket hang up|ECONNRESET/);

  const fast = await send(gw.port, '/idle/fast');
  assert.equal(fast.status, 200, 'the gateway still serves after timeouts');
});

test('nothing a client does crashes the gateway: resets mid-request, garbage, half-sent bodies', async (t) => {
  const slow = await startSlow('slow');
  const a = await startEcho('a');
  closeAfter(t, slow, a);
  const gw = await startTestGateway(t, table([route('slow', '/delay', ['be-slow']), route('r', '/', ['be-a'])], [backend('be-slow', [slow.port]), backend('be-a', [a.port])]));
  const abuse = [
    'GET /delay/2000 HTTP/1.1\r\nHost: x\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab',
    '\x00\x01\x02garbage\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
  ];
  await Promise.all(abuse.map((text) => resetAfterWrite(gw.port, text)));
  const r = await send(gw.port, '/still-alive');
  assert.equal(r.status, 200);
});

/** Writes raw bytes and returns everything the server sent back before closing (bounded to 3 s). */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => socket.destroy(), 3_000);
    socket.setEncoding('utf8').on('data', (d: string) => (out += d));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.write(text);
  });
}

/** Writes raw bytes, waits a moment, then resets the connection. */
function resetAfterWrite(port: number, text: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(text);
    setTimeout(() => {
      socket.resetAndDestroy();
      resolve();
    }, 100);
  });
}

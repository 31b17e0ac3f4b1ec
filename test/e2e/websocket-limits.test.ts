// WebSocket handshakes through the route's policies, and the per-rule connection and message limits, end to end with
// real `ws` clients and upstreams. Short limits (a few hundred ms) keep the clock cases quick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { mint, startJwksServer, testKey } from '../policy/jwt-fixtures.ts';
import type { TableRoute, TableWebSocket } from '../../proxy/table/table-schema.ts';
import { apiKeyAuthorizer, auth, jwtAuthorizer, newSalt } from './helpers/authorizers.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { bucket, byClientIp, limit, ratePolicy, HOUR_MS } from './helpers/rate-policies.ts';
import { backend, route, table } from './helpers/tables.ts';
import { startWsUpstream } from './helpers/websocket-upstreams.ts';
import { mustOpen, mustRefuse, within } from './helpers/websocket-clients.ts';
import { scrapeMetrics, sampleOf } from './helpers/authorizers.ts';

function wsSettings(extra: Partial<TableWebSocket> = {}): TableWebSocket {
  return { idleTimeoutMs: 60_000, maxDurationMs: 3_600_000, closeOnExpiry: false, ...extra };
}

function wsRoute(id: string, prefix: string, ws: Partial<TableWebSocket>, extra: Partial<TableRoute> = {}): TableRoute {
  return route(id, prefix, ['be'], { websocket: wsSettings(ws), ...extra });
}

test('the handshake goes through the authorizer (401, no upgrade, the upstream never asked) and the rate limit (429, one request each)', async (t) => {
  const up = await startWsUpstream();
  closeAfter(t, up);
  const salt = newSalt();
  const keys = apiKeyAuthorizer('test/keys', salt, [{ key: 'good-key-123', consumer: 'acme' }]);
  const gw = await startTestGateway(
    t,
    table(
      [wsRoute('secure', '/secure', {}, { auth: auth('test/keys') }), wsRoute('limited', '/limited', {}, { ratePolicies: ['test/two'] })],
      [backend('be', [up.port])],
      undefined,
      [keys],
      [ratePolicy('test/two', [limit('two', byClientIp, bucket(2, HOUR_MS, 2))])],
    ),
  );
  const denied = await mustRefuse(gw.port, '/secure');
  assert.equal(denied.status, 401);
  assert.equal(denied.json.error, 'missing credentials');
  assert.equal((await mustRefuse(gw.port, '/secure', { headers: { 'x-api-key': 'wrong' } })).status, 401);
  assert.equal(up.upgrades.length, 0, 'refused handshakes never reach the upstream');
  const ok = await mustOpen(gw.port, '/secure', { headers: { 'x-api-key': 'good-key-123', 'x-consumer': 'forged' } });
  assert.equal(up.upgrades.at(-1)!.headers['x-consumer'], 'acme', 'the authenticated consumer, never the client copy');
  ok.ws.close();

  const first = await mustOpen(gw.port, '/limited');
  assert.match(String(first.headers['ratelimit']), /"two\/two";r=1/, 'the 101 carries the RateLimit fields');
  (await mustOpen(gw.port, '/limited')).ws.close();
  const third = await mustRefuse(gw.port, '/limited');
  assert.equal(third.status, 429);
  assert.ok(third.headers['retry-after'] !== undefined);
  first.ws.send('open connections are not counted again');
  assert.equal((await first.messages.next()).data.toString(), 'open connections are not counted again');
  first.ws.close();
  const metrics = await scrapeMetrics(gw.adminPort);
  assert.equal(sampleOf(metrics, 'gatehouse_websocket_handshakes_total', { route: 'limited', status: '429' }), 1);
  assert.equal(sampleOf(metrics, 'gatehouse_websocket_handshakes_total', { route: 'limited', status: '101' }), 2);
  assert.equal(sampleOf(metrics, 'gatehouse_websocket_handshakes_total', { route: 'secure', status: '401' }), 2);
});

test('parsed: an oversized message closes with 1009, too many messages with 1008 and a reason; the upstream is told 1001', async (t) => {
  const up = await startWsUpstream();
  closeAfter(t, up);
  const gw = await startTestGateway(
    t,
    table([wsRoute('small', '/small', { maxMessageBytes: 1024 }), wsRoute('slow', '/slow', { maxMessagesPerSecond: 5 })], [backend('be', [up.port])]),
  );
  const small = await mustOpen(gw.port, '/small');
  small.ws.send(randomBytes(1024));
  assert.equal((await small.messages.next()).data.length, 1024, 'at the limit is fine');
  const upstreamClosed = new Promise<number>((resolve) => [...up.sockets].at(-1)!.once('close', (code) => resolve(code)));
  small.ws.send(randomBytes(1025));
  assert.equal((await within(small.closed, 10_000, 'close after an oversized message')).code, 1009);
  assert.equal(await within(upstreamClosed, 10_000, 'upstream close'), 1001);

  const slow = await mustOpen(gw.port, '/slow');
  // A second's worth (the burst) goes through; a burst beyond it closes the connection.
  for (let i = 0; i < 5; i++) slow.ws.send(`m${i}`);
  for (let i = 0; i < 5; i++) assert.equal((await slow.messages.next()).data.toString(), `m${i}`);
  for (let i = 0; i < 20; i++) slow.ws.send(`burst${i}`);
  const closed = await within(slow.closed, 10_000, 'close after too many messages');
  assert.deepEqual(closed, { code: 1008, reason: 'message rate exceeded' });
  const metrics = await scrapeMetrics(gw.adminPort);
  assert.equal(sampleOf(metrics, 'gatehouse_websocket_closes_total', { route: 'small', by: 'gateway', code: '1009' }), 1);
  assert.equal(sampleOf(metrics, 'gatehouse_websocket_closes_total', { route: 'slow', by: 'gateway', code: '1008' }), 1);
  assert.ok(sampleOf(metrics, 'gatehouse_websocket_messages_total', { route: 'slow', direction: 'client_to_upstream' }) >= 5);
});

for (const mode of ['plain', 'parsed'] as const) {
  test(`${mode}: idle timeout and maximum duration close with 1001 and a reason; traffic keeps an idle timer away`, async (t) => {
    const up = await startWsUpstream();
    closeAfter(t, up);
    const parsed = mode === 'parsed' ? { maxMessagesPerSecond: 1000 } : {};
    const gw = await startTestGateway(
      t,
      table([wsRoute('idle', '/idle', { ...parsed, idleTimeoutMs: 400 }), wsRoute('short', '/short', { ...parsed, maxDurationMs: 600 })], [backend('be', [up.port])]),
    );
    const idle = await mustOpen(gw.port, '/idle');
    const openedAt = Date.now();
    // Messages every 100 ms for ~800 ms: twice the idle timeout, never idle.
    for (let i = 0; i < 8; i++) {
      idle.ws.send(`tick ${i}`);
      assert.equal((await idle.messages.next()).data.toString(), `tick ${i}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(idle.ws.readyState, idle.ws.OPEN, 'still open after twice the idle timeout with traffic');
    const closed = await within(idle.closed, 10_000, 'idle close');
    assert.deepEqual(closed, { code: 1001, reason: 'idle timeout' });
    assert.ok(Date.now() - openedAt >= 800);

    const short = await mustOpen(gw.port, '/short');
    const start = Date.now();
    const keepBusy = setInterval(() => short.ws.readyState === short.ws.OPEN && short.ws.send('busy'), 50);
    t.after(() => clearInterval(keepBusy));
    assert.deepEqual(await within(short.closed, 10_000, 'duration close'), { code: 1001, reason: 'maximum connection duration reached' });
    clearInterval(keepBusy);
    assert.ok(Date.now() - start >= 500, 'not before the maximum duration');
  });
}

test('closeOnExpiry: a JWT connection ends with 1008 when the token expires; without the flag it stays', async (t) => {
  const up = await startWsUpstream();
  const key = await testKey('RS256', 'k1');
  const jwks = await startJwksServer([key.jwk]);
  closeAfter(t, up, jwks);
  const gw = await startTestGateway(
    t,
    table(
      [wsRoute('expiring', '/expiring', { closeOnExpiry: true }, { auth: auth('test/jwt') }), wsRoute('lasting', '/lasting', {}, { auth: auth('test/jwt') })],
      [backend('be', [up.port])],
      undefined,
      [jwtAuthorizer('test/jwt', jwks.uri)],
    ),
  );
  const token = await mint(key, { sub: 'alice' }, { expiresIn: 2 });
  const headers = { authorization: `Bearer ${token}` };
  const expiring = await mustOpen(gw.port, '/expiring', { headers });
  const lasting = await mustOpen(gw.port, '/lasting', { headers });
  assert.deepEqual(await within(expiring.closed, 10_000, 'close at expiry'), { code: 1008, reason: 'credential expired' });
  lasting.ws.send('still here');
  assert.equal((await lasting.messages.next()).data.toString(), 'still here');
  lasting.ws.close();
});

for (const mode of ['plain', 'parsed'] as const) {
  test(`${mode}: a slow reader does not make the gateway buffer without bound; every byte arrives once it reads`, async (t) => {
    const total = 64 * 1024 * 1024;
    const chunk = randomBytes(64 * 1024);
    let upstreamBuffered = 0;
    const up = await startWsUpstream({
      onConnection: (ws) => {
        // Push 64 MiB as fast as the socket takes it (bounded by what the gateway reads).
        let sent = 0;
        const pump = (): void => {
          while (sent < total && ws.bufferedAmount < 8 * 1024 * 1024) {
            ws.send(chunk);
            sent += chunk.length;
          }
          upstreamBuffered = ws.bufferedAmount;
          if (sent < total && ws.readyState === ws.OPEN) setTimeout(pump, 5);
        };
        pump();
      },
    });
    closeAfter(t, up);
    const parsed = mode === 'parsed' ? { maxMessageBytes: 128 * 1024 } : {};
    const gw = await startTestGateway(t, table([wsRoute('firehose', '/firehose', parsed)], [backend('be', [up.port])]));
    const o = await mustOpen(gw.port, '/firehose');
    // The client stops reading: its socket, then the gateway's, then the upstream's fill up.
    const clientSocket = (o.ws as unknown as { _socket: Socket })._socket;
    o.ws.pause();
    let peak = 0;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && upstreamBuffered < 4 * 1024 * 1024) {
      peak = Math.max(peak, gw.websockets.bufferedBytes());
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(upstreamBuffered >= 4 * 1024 * 1024, `backpressure reached the upstream (it holds ${upstreamBuffered} bytes)`);
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, gw.websockets.bufferedBytes());
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(peak < 3 * 1024 * 1024, `the gateway held at most ${peak} bytes while the client did not read`);
    t.diagnostic(`gateway buffered at most ${peak} bytes; upstream held ${upstreamBuffered}; client socket ${clientSocket.readableLength}`);
    let received = 0;
    o.ws.on('message', (data: Buffer) => (received += data.length));
    o.ws.resume();
    const until = Date.now() + 60_000;
    while (received < total && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(received, total);
    o.ws.close();
  });
}

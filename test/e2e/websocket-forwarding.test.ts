// WebSocket forwarding end to end: a real `ws` client → the gateway → a real `ws` upstream. Plain routes pipe the
// sockets; routes with a message limit parse frames. Each test builds its own gateway and table.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { TableRoute, TableWebSocket } from '../../proxy/table/table-schema.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { send } from './helpers/http-client.ts';
import { backend, route, table } from './helpers/tables.ts';
import { refusedPort } from './helpers/upstreams.ts';
import { startWsUpstream, type WsUpstream } from './helpers/websocket-upstreams.ts';
import { mustOpen, mustRefuse, within } from './helpers/websocket-clients.ts';

export function wsSettings(extra: Partial<TableWebSocket> = {}): TableWebSocket {
  return { idleTimeoutMs: 60_000, maxDurationMs: 3_600_000, closeOnExpiry: false, ...extra };
}

function wsRoute(id: string, prefix: string, be: string, ws: Partial<TableWebSocket> | null, extra: Partial<TableRoute> = {}): TableRoute {
  return route(id, prefix, [be], { ...(ws !== null && { websocket: wsSettings(ws) }), ...extra });
}

async function gatewayFor(t: TestContext, up: WsUpstream, routes: TableRoute[]) {
  return startTestGateway(t, table(routes, [backend('be', [up.port])]));
}

async function echoes(opened: Awaited<ReturnType<typeof mustOpen>>): Promise<void> {
  const { ws, messages } = opened;
  ws.send('hello');
  let m = await messages.next();
  assert.equal(m.data.toString(), 'hello');
  assert.equal(m.isBinary, false);
  const bin = randomBytes(1000);
  ws.send(bin);
  m = await messages.next();
  assert.ok(m.isBinary);
  assert.deepEqual(m.data, bin);
  // 1 MB in one message.
  const big = randomBytes(1024 * 1024);
  ws.send(big);
  m = await messages.next();
  assert.equal(m.data.length, big.length);
  assert.ok(m.data.equals(big), 'the 1 MB message came back intact');
  // A message in three fragments comes back as one message.
  ws.send('frag', { fin: false });
  ws.send('ment', { fin: false });
  ws.send('ed', { fin: true });
  m = await messages.next();
  assert.equal(m.data.toString(), 'fragmented');
  // Ping → pong (from the upstream when piped, from the gateway when parsed).
  const pong = once(ws, 'pong');
  ws.ping('are-you-there');
  const [payload] = (await within(pong, 10_000, 'pong')) as [Buffer];
  assert.equal(payload.toString(), 'are-you-there');
}

for (const mode of ['plain', 'parsed'] as const) {
  test(`${mode}: echo text, binary, 1 MB, fragments, ping/pong; subprotocol negotiated; request id on the 101; upstream sees forwarding headers`, async (t) => {
    const up = await startWsUpstream();
    closeAfter(t, up);
    const limits = mode === 'parsed' ? { maxMessageBytes: 2 * 1024 * 1024 } : {};
    const gw = await gatewayFor(t, up, [wsRoute('chat', '/chat', 'be', limits)]);
    const opened = await mustOpen(gw.port, '/chat/room?x=1', { protocols: ['chat.v2', 'chat.v1'], headers: { 'x-request-id': 'ws-req-1' } });
    assert.equal(opened.ws.protocol, 'chat.v2', 'the upstream chose the first protocol offered');
    assert.equal(opened.headers['x-request-id'], 'ws-req-1');
    await echoes(opened);
    const seen = up.upgrades.at(-1)!;
    assert.equal(seen.url, '/chat/room?x=1');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-request-id'], 'ws-req-1');
    assert.equal(seen.headers['sec-websocket-protocol'], 'chat.v2,chat.v1', 'both offered upstream, in order');
    opened.ws.close(1000, 'bye');
    assert.deepEqual(await within(opened.closed, 10_000, 'close'), { code: 1000, reason: 'bye' });
    await within(
      (async () => {
        while (gw.websockets.count() > 0) await new Promise((r) => setTimeout(r, 20));
      })(),
      10_000,
      'the gateway forgets the connection',
    );
  });
}

test('plain: permessage-deflate is negotiated end to end when both sides agree, and not when the upstream declines', async (t) => {
  const deflating = await startWsUpstream({ perMessageDeflate: true });
  const plain = await startWsUpstream({ perMessageDeflate: false });
  closeAfter(t, deflating, plain);
  const gw = await startTestGateway(t, table([wsRoute('d', '/d', 'd', {}), wsRoute('p', '/p', 'p', {})], [backend('d', [deflating.port]), backend('p', [plain.port])]));
  const d = await mustOpen(gw.port, '/d', { perMessageDeflate: true });
  assert.match(d.ws.extensions, /permessage-deflate/);
  d.ws.send('x'.repeat(10_000));
  assert.equal((await d.messages.next()).data.toString(), 'x'.repeat(10_000));
  d.ws.close();
  const p = await mustOpen(gw.port, '/p', { perMessageDeflate: true });
  assert.equal(p.ws.extensions, '');
  p.ws.close();
});

test('parsed: no compression on either hop, whatever the client offers', async (t) => {
  const up = await startWsUpstream({ perMessageDeflate: true });
  closeAfter(t, up);
  const gw = await gatewayFor(t, up, [wsRoute('chat', '/chat', 'be', { maxMessagesPerSecond: 100 })]);
  const o = await mustOpen(gw.port, '/chat', { perMessageDeflate: true });
  assert.equal(o.ws.extensions, '');
  assert.equal(up.upgrades.at(-1)!.headers['sec-websocket-extensions'], undefined);
  o.ws.send('still works');
  assert.equal((await o.messages.next()).data.toString(), 'still works');
  o.ws.close();
});

test('a rule without websocket answers 404 JSON (plain HTTP still forwarded); no route 404; a bad version 426', async (t) => {
  const up = await startWsUpstream();
  closeAfter(t, up);
  const gw = await gatewayFor(t, up, [wsRoute('http-only', '/api', 'be', null), wsRoute('chat', '/chat', 'be', {})]);
  const off = await mustRefuse(gw.port, '/api');
  assert.equal(off.status, 404);
  assert.equal(off.headers['content-type'], 'application/json');
  assert.equal(off.json.error, 'websocket not enabled on this route');
  assert.equal((await send(gw.port, '/api')).status, 200, 'the same route still serves plain HTTP');
  assert.equal((await mustRefuse(gw.port, '/nothing')).json.error, 'no route');
  const bad = await mustRefuse(gw.port, '/chat', { protocolVersion: 8 });
  assert.equal(bad.status, 426);
  assert.equal(bad.headers['sec-websocket-version'], '13');
  assert.equal(up.upgrades.length, 0, 'none of them reached the upstream');
});

test('Origin: checked against the rule\'s CORS origins when it has some (exact, subdomain wildcard, "*")', async (t) => {
  const up = await startWsUpstream();
  closeAfter(t, up);
  const cors = (allowOrigins: string[]): Partial<TableRoute> => ({ cors: { allowOrigins, allowMethods: ['GET'], allowHeaders: [], exposeHeaders: [], allowCredentials: false } });
  const gw = await gatewayFor(t, up, [
    wsRoute('chat', '/chat', 'be', {}, cors(['https://app.example.com', 'https://*.apps.example.com'])),
    wsRoute('any', '/any', 'be', {}, cors(['*'])),
  ]);
  const refused = await mustRefuse(gw.port, '/chat', { origin: 'https://evil.example.com' });
  assert.equal(refused.status, 403);
  assert.equal(refused.json.error, 'origin not allowed');
  assert.equal((await mustRefuse(gw.port, '/chat')).status, 403, 'no Origin at all is refused when origins are set');
  (await mustOpen(gw.port, '/chat', { origin: 'https://APP.example.com' })).ws.close();
  // The same origin matcher as HTTP CORS: a subdomain wildcard admits one or more labels, never the bare domain.
  (await mustOpen(gw.port, '/chat', { origin: 'https://a.b.apps.example.com' })).ws.close();
  assert.equal((await mustRefuse(gw.port, '/chat', { origin: 'https://apps.example.com' })).status, 403);
  assert.equal((await mustRefuse(gw.port, '/chat', { origin: 'http://a.apps.example.com' })).status, 403, 'the scheme is part of the origin');
  (await mustOpen(gw.port, '/any', { origin: 'https://whatever.example' })).ws.close();
});

test('upstream handshake failures: refused → 502, a 400 answer → 502 JSON, no answer → 504; the client is never upgraded', async (t) => {
  const up = await startWsUpstream();
  closeAfter(t, up);
  const down = await refusedPort();
  for (const mode of ['plain', 'parsed'] as const) {
    const limits = mode === 'parsed' ? { maxMessageBytes: 1024 } : {};
    const gw = await startTestGateway(
      t,
      table(
        [
          wsRoute('down', '/down', 'down', limits),
          wsRoute('up', '/', 'be', limits, { timeouts: { connectMs: 1_000, requestMs: 300, idleMs: 5_000 } }),
        ],
        [backend('down', [down]), backend('be', [up.port])],
      ),
    );
    const refused = await mustRefuse(gw.port, '/down');
    assert.equal(refused.status, 502, mode);
    assert.equal(refused.json.error, 'upstream unreachable');
    const answered = await mustRefuse(gw.port, '/status/400');
    assert.equal(answered.status, 502, mode);
    assert.equal(answered.headers['content-type'], 'application/json');
    assert.equal(answered.json.error, 'upstream refused the websocket upgrade');
    const hung = await mustRefuse(gw.port, '/hang');
    assert.equal(hung.status, 504, mode);
    assert.equal(hung.json.error, 'upstream timeout');
    assert.equal(gw.websockets.count(), 0);
  }
});

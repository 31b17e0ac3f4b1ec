// Open WebSocket connections and table changes: unrelated changes (deltas and whole tables) never touch them; removing
// or changing their route closes them with 1001 after the drain grace; the gateway's close() sends 1001 to everyone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeltaMessage } from '../../proxy/table/stream-protocol.ts';
import { TABLE_SCHEMA_VERSION, type TableRoute, type TableWebSocket } from '../../proxy/table/table-schema.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { scrapeMetrics, sampleOf } from './helpers/authorizers.ts';
import { backend, route, table } from './helpers/tables.ts';
import { startEcho } from './helpers/upstreams.ts';
import { startWsUpstream } from './helpers/websocket-upstreams.ts';
import { mustOpen, mustRefuse, within } from './helpers/websocket-clients.ts';
import { send } from './helpers/http-client.ts';

function wsSettings(extra: Partial<TableWebSocket> = {}): TableWebSocket {
  return { idleTimeoutMs: 60_000, maxDurationMs: 3_600_000, closeOnExpiry: false, ...extra };
}
const wsRoute = (id: string, prefix: string, ws: Partial<TableWebSocket> = {}, extra: Partial<TableRoute> = {}): TableRoute =>
  route(id, prefix, ['ws'], { websocket: wsSettings(ws), ...extra });

function delta(baseVersion: string, version: string, routes: Partial<DeltaMessage['routes']>): DeltaMessage {
  const none = { removed: [], changed: [], added: [] };
  return { type: 'delta', baseVersion, version, schema: TABLE_SCHEMA_VERSION, routes: { ...none, ...routes }, backends: none, authorizers: none, ratePolicies: none, certificates: none, tlsHosts: none };
}

const DRAIN_MS = 400;

for (const mode of ['plain', 'parsed'] as const) {
  test(`${mode}: a connection stays open across 100 unrelated changes (50 deltas, 50 whole tables), then its route's removal closes it with 1001 after the drain`, async (t) => {
    const up = await startWsUpstream();
    const http = await startEcho('http');
    closeAfter(t, up, http);
    const limits = mode === 'parsed' ? { maxMessagesPerSecond: 1000 } : {};
    const chat = wsRoute('chat', '/chat', limits);
    const other = (n: number): TableRoute => route('other', '/other', ['http'], { requestHeaders: { set: [['x-change', String(n)]], add: [], remove: [] } });
    const backends = [backend('ws', [up.port]), backend('http', [http.port])];
    const first = table([chat, other(0)], backends);
    const gw = await startTestGateway(t, first, { websocketDrainMs: DRAIN_MS });
    const o = await mustOpen(gw.port, '/chat');
    let version = first.version;
    for (let i = 1; i <= 100; i++) {
      if (i % 2 === 0) {
        // A whole table, rebuilt from scratch: the chat route is a new object, equal to the old one.
        const next = table([{ ...chat }, other(i)], backends, `v${i}`);
        const applied = gw.applyTable(next);
        assert.ok(applied.ok);
      } else {
        const applied = await gw.applyDelta(delta(version, `v${i}`, { changed: [other(i)] }));
        assert.ok(applied.ok, applied.ok ? '' : applied.error);
      }
      version = `v${i}`;
      if (i % 10 === 0) {
        o.ws.send(`after ${i}`);
        assert.equal((await o.messages.next()).data.toString(), `after ${i}`);
      }
    }
    assert.equal(o.ws.readyState, o.ws.OPEN);
    assert.equal(gw.websockets.count(), 1);
    const changed = await send(gw.port, '/other');
    assert.equal(JSON.parse(changed.body).headers['x-change'], '100', 'the unrelated route did change');

    // Removed: the connection keeps working during the drain, then gets 1001.
    const removedAt = Date.now();
    const applied = await gw.applyDelta(delta(version, 'v-removed', { removed: ['chat'] }));
    assert.ok(applied.ok);
    o.ws.send('during the drain');
    assert.equal((await o.messages.next()).data.toString(), 'during the drain');
    assert.deepEqual(await within(o.closed, 10_000, 'close after removal'), { code: 1001, reason: 'route removed' });
    assert.ok(Date.now() - removedAt >= DRAIN_MS - 20, `closed after the drain (${Date.now() - removedAt} ms)`);
    assert.equal((await mustRefuse(gw.port, '/chat')).status, 404, 'new upgrades find no route');
  });
}

test('a changed route (its compiled form differs) drains its connections with 1001; new ones get the new settings', async (t) => {
  const up = await startWsUpstream();
  closeAfter(t, up);
  const backends = [backend('ws', [up.port])];
  const gw = await startTestGateway(t, table([wsRoute('chat', '/chat'), wsRoute('keep', '/keep')], backends), { websocketDrainMs: DRAIN_MS });
  const chat = await mustOpen(gw.port, '/chat');
  const keep = await mustOpen(gw.port, '/keep');
  assert.ok(gw.applyTable(table([wsRoute('chat', '/chat', { idleTimeoutMs: 30_000 }), wsRoute('keep', '/keep')], backends)).ok);
  assert.deepEqual(await within(chat.closed, 10_000, 'close after change'), { code: 1001, reason: 'route changed' });
  keep.ws.send('unchanged route');
  assert.equal((await keep.messages.next()).data.toString(), 'unchanged route');
  const again = await mustOpen(gw.port, '/chat');
  again.ws.close();
  keep.ws.close();
  const metrics = await scrapeMetrics(gw.adminPort);
  assert.equal(sampleOf(metrics, 'gatehouse_websocket_closes_total', { route: 'chat', by: 'gateway', code: '1001' }), 1);
});

for (const mode of ['plain', 'parsed'] as const) {
  test(`${mode}: the gateway's close() refuses new upgrades, sends 1001 to open connections after the grace, and resolves once they are gone`, async (t) => {
    const up = await startWsUpstream();
    closeAfter(t, up);
    const limits = mode === 'parsed' ? { maxMessageBytes: 65_536 } : {};
    const gw = await startTestGateway(t, table([wsRoute('chat', '/chat', limits)], [backend('ws', [up.port])]), { shutdownGraceMs: 300 });
    const a = await mustOpen(gw.port, '/chat');
    const b = await mustOpen(gw.port, '/chat');
    assert.equal(gw.websockets.count(), 2);
    const started = Date.now();
    const closing = gw.close();
    assert.deepEqual(await within(a.closed, 10_000, 'a closed'), { code: 1001, reason: 'gateway shutting down' });
    assert.deepEqual(await within(b.closed, 10_000, 'b closed'), { code: 1001, reason: 'gateway shutting down' });
    assert.ok(Date.now() - started >= 250, 'not before the grace');
    await within(closing, 15_000, 'close() resolves');
    assert.equal(gw.websockets.count(), 0);
    assert.equal(up.sockets.size, 0, 'the upstream connections are closed too');
  });
}

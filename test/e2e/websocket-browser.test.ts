// A real browser through the gateway: headless Chromium (Debian's `chromium`, which .ci/run installs when missing,
// driven by playwright-core with that system binary; no browser download) loads a page from one loopback origin,
// and the page's script opens a WebSocket to the gateway on another port and exchanges text and binary messages
// with an echoing upstream. A page from an origin the route does not list gets no connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { TableRoute } from '../../proxy/table/table-schema.ts';
import { launchChromium, startPageServer } from './helpers/browser.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { backend, route, table } from './helpers/tables.ts';
import { startWsUpstream } from './helpers/websocket-upstreams.ts';

/** What the page's script saw, read back with page.evaluate. */
interface PageResult {
  opened: boolean;
  errors: number;
  messages: Array<{ text: string } | { binary: number[] }>;
  close: { code: number; reason: string; wasClean: boolean } | null;
}

const TEXT = 'hello from the page';
const UNICODE = 'ünïcödé ✓ 🙂';
const BINARY = [0, 1, 2, 127, 128, 254, 255];

// The page opens ws://127.0.0.1:<gateway>/<path>, sends text, binary (an ArrayBuffer) and more text once open,
// closes (1000) after three echoes, and records everything in window.wsResult.
function pageHtml(gatewayPort: number, path: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>gatehouse websocket</title></head>
<body><p>WebSocket through the gateway</p>
<script>
  const result = { opened: false, errors: 0, messages: [], close: null };
  window.wsResult = result;
  const ws = new WebSocket('ws://127.0.0.1:${gatewayPort}${path}');
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    result.opened = true;
    ws.send(${JSON.stringify(TEXT)});
    ws.send(new Uint8Array(${JSON.stringify(BINARY)}).buffer);
    ws.send(${JSON.stringify(UNICODE)});
  };
  ws.onmessage = (e) => {
    result.messages.push(typeof e.data === 'string' ? { text: e.data } : { binary: Array.from(new Uint8Array(e.data)) });
    if (result.messages.length === 3) ws.close(1000, 'done');
  };
  ws.onerror = () => { result.errors++; };
  ws.onclose = (e) => { result.close = { code: e.code, reason: e.reason, wasClean: e.wasClean }; };
</script></body></html>`;
}

function wsRoute(id: string, prefix: string, allowOrigins: string[]): TableRoute {
  return route(id, prefix, ['be'], {
    websocket: { idleTimeoutMs: 60_000, maxDurationMs: 3_600_000, closeOnExpiry: false },
    cors: { allowOrigins, allowMethods: ['GET'], allowHeaders: [], exposeHeaders: [], allowCredentials: false },
  });
}

/** Loads the page and waits (bounded) until its WebSocket has closed; returns what the page saw. */
async function runPage(browser: Browser, url: string): Promise<PageResult> {
  const context = await browser.newContext();
  try {
    const page: Page = await context.newPage();
    await page.goto(url, { timeout: 15_000 });
    await page.waitForFunction(() => ((globalThis as unknown as { wsResult?: PageResult }).wsResult?.close ?? null) !== null, undefined, { timeout: 15_000 });
    return await page.evaluate(() => (globalThis as unknown as { wsResult: PageResult }).wsResult);
  } finally {
    await context.close();
  }
}

test('a page in headless Chromium opens a WebSocket through the gateway and exchanges messages; a page on an unlisted origin is refused', async (t) => {
  const up = await startWsUpstream();
  closeAfter(t, up);
  let gatewayPort = 0;
  const allowedPage = await startPageServer(() => pageHtml(gatewayPort, '/chat/room'));
  const otherPage = await startPageServer(() => pageHtml(gatewayPort, '/chat/room'));
  closeAfter(t, allowedPage, otherPage);
  // The route admits the first page's origin only (the handshake's Origin is checked against it).
  const gw = await startTestGateway(t, table([wsRoute('chat', '/chat', [allowedPage.origin])], [backend('be', [up.port])]));
  gatewayPort = gw.port;
  // Registered last, so it runs first (after hooks run in reverse): the browser goes before the servers.
  const browser = await launchChromium(t);

  await t.test('the page on an allowed origin opens the WebSocket, sends text and binary, gets the exact echoes, closes 1000; the upstream saw its Origin', async () => {
    const upgradesBefore = up.upgrades.length;
    const r = await runPage(browser, `${allowedPage.origin}/`);
    assert.equal(r.opened, true, `the page's WebSocket opened: ${JSON.stringify(r)}`);
    assert.equal(r.errors, 0);
    assert.deepEqual(r.messages, [{ text: TEXT }, { binary: BINARY }, { text: UNICODE }]);
    assert.deepEqual(r.close, { code: 1000, reason: 'done', wasClean: true });
    assert.equal(up.upgrades.length, upgradesBefore + 1, 'one handshake reached the upstream');
    const seen = up.upgrades.at(-1)!;
    assert.equal(seen.url, '/chat/room');
    assert.equal(seen.headers.origin, allowedPage.origin, "the upstream saw the page's Origin");
    assert.match(String(seen.headers['user-agent']), /Chrome\//, 'the handshake came from Chromium');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  });

  await t.test('a page on an origin the route does not list gets an error and a close (1006) without open; nothing reaches the upstream', async () => {
    const upgradesBefore = up.upgrades.length;
    const r = await runPage(browser, `${otherPage.origin}/`);
    assert.equal(r.opened, false);
    assert.equal(r.errors, 1);
    assert.deepEqual(r.messages, []);
    assert.deepEqual(r.close, { code: 1006, reason: '', wasClean: false });
    assert.equal(up.upgrades.length, upgradesBefore, 'the gateway refused the handshake itself');
    const logged = gw.logs.lines.filter((l) => l.msg === 'request' && l.path === '/chat/room').map((l) => l.status);
    assert.deepEqual(logged, [101, 403], 'the access log has the accepted handshake, then the refused one');
  });
});

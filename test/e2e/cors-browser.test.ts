// CORS in a real browser: headless Chromium (test/e2e/helpers/browser.ts) loads a page from one loopback origin whose
// script calls the gateway on another (another port), and the test asserts what the script saw. A simple GET reads
// the body; a credentialed POST with custom headers is preflighted (the gateway answers the preflight without
// credentials, the upstream never sees an OPTIONS) and reads an exposed header but not an unexposed one; a page on
// an origin the route does not list gets a TypeError from fetch, its preflighted POST never reaches the upstream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import type { Browser } from 'playwright-core';
import type { TableCors } from '../../proxy/table/table-schema.ts';
import { launchChromium, startPageServer } from './helpers/browser.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { apiKeyAuthorizer, auth, newSalt } from './helpers/authorizers.ts';
import { backend, route, table } from './helpers/tables.ts';
import { startUpstream } from './helpers/upstreams.ts';

const KEY = 'browser-7c4e2a9f1d3b5e60';

/** What one fetch from the page's script saw: the status, body and headers it could read, or the error it threw. */
type Seen = { ok: true; status: number; body: string; exposed: string | null; hidden: string | null; contentType: string | null } | { ok: false; error: string; message: string };

/** Runs the page's fetches in the page (its origin is the page server's) and returns what each saw. */
async function fetchesFrom(browser: Browser, pageUrl: string, gateway: string): Promise<{ get: Seen; post: Seen; noKey: Seen; console: string[] }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const console: string[] = [];
    page.on('console', (m) => console.push(m.text()));
    await page.goto(pageUrl, { timeout: 15_000 });
    const seen = await page.evaluate(async (gw: string) => {
      async function call(url: string, init: RequestInit): Promise<Seen> {
        try {
          const r = await fetch(url, init);
          return { ok: true, status: r.status, body: await r.text(), exposed: r.headers.get('x-total-count'), hidden: r.headers.get('x-secret'), contentType: r.headers.get('content-type') };
        } catch (e) {
          return { ok: false, error: (e as Error).name, message: (e as Error).message };
        }
      }
      const get = await call(`${gw}/public/pets`, {});
      const post = await call(`${gw}/orders`, {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json', 'x-api-key': 'browser-7c4e2a9f1d3b5e60', 'x-request-token': 'tok-1' },
        body: JSON.stringify({ pet: 42 }),
      });
      const noKey = await call(`${gw}/orders`, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' });
      return { get, post, noKey };
    }, gateway);
    return { ...seen, console };
  } finally {
    await context.close();
  }
}

test('a page in headless Chromium calls the gateway across origins: simple GET, preflighted credentialed POST with an exposed header; a page on an unlisted origin is blocked', async (t) => {
  const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
  const up = await startUpstream('shop', (req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'x-total-count': '3', 'x-secret': 'not for scripts' }).end(JSON.stringify({ served: req.url, method: req.method })));
  });
  const allowedPage = await startPageServer(() => '<!doctype html><title>shop</title><p>the shop</p>');
  const otherPage = await startPageServer(() => '<!doctype html><title>other</title><p>another site</p>');
  closeAfter(t, up, allowedPage, otherPage);

  const salt = newSalt();
  const cors = (extra: Partial<TableCors>): TableCors => ({ allowOrigins: [allowedPage.origin], allowMethods: ['GET', 'POST'], allowHeaders: [], exposeHeaders: [], allowCredentials: false, ...extra });
  const gw = await startTestGateway(
    t,
    table(
      [
        route('public', '/public', ['be'], { methods: ['GET'], cors: cors({}) }),
        // POST only (no OPTIONS listed), an API key required: the preflight passes without it, the POST needs it.
        route('orders', '/orders', ['be'], {
          methods: ['POST'],
          auth: auth('test/keys'),
          cors: cors({ allowHeaders: ['content-type', 'x-api-key', 'x-request-token'], exposeHeaders: ['x-total-count'], allowCredentials: true, maxAgeSeconds: 60 }),
        }),
      ],
      [backend('be', [up.port])],
      undefined,
      [apiKeyAuthorizer('test/keys', salt, [{ key: KEY, consumer: 'shopper' }])],
    ),
  );
  const gateway = `http://127.0.0.1:${gw.port}`;
  const browser = await launchChromium(t);

  await t.test('the allowed page reads the GET body and the POST answer with its exposed header; the upstream saw the POST with its headers and no OPTIONS', async () => {
    const r = await fetchesFrom(browser, `${allowedPage.origin}/`, gateway);
    assert.deepEqual(r.get, { ok: true, status: 200, body: JSON.stringify({ served: '/public/pets', method: 'GET' }), exposed: null, hidden: null, contentType: 'application/json' });
    assert.deepEqual(r.post, { ok: true, status: 200, body: JSON.stringify({ served: '/orders', method: 'POST' }), exposed: '3', hidden: null, contentType: 'application/json' }, 'x-total-count is exposed, x-secret is not');

    // The gateway's own 401 carries the CORS fields, so the script reads it instead of a network error.
    assert.equal(r.noKey.ok && r.noKey.status, 401);
    assert.equal(r.noKey.ok && (JSON.parse(r.noKey.body) as { error: string }).error.length > 0, true);

    assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), ['GET /public/pets', 'POST /orders'], 'the upstream never saw the preflight, nor the POST without a key');
    const post = seen[1]!;
    assert.equal(post.headers.origin, allowedPage.origin);
    assert.equal(post.headers['x-request-token'], 'tok-1');
    assert.equal(post.headers['x-consumer'], 'shopper', 'the actual request carried the API key');
    assert.match(String(post.headers['user-agent']), /Chrome\//);

    // The gateway answered the preflight itself (204, on the orders route, no credentials in it), then the POST.
    const orders = gw.logs.lines.filter((l) => l.msg === 'request' && l.route === 'orders').map((l) => `${String(l.method)} ${String(l.status)}`);
    assert.deepEqual(orders.filter((o) => o !== 'OPTIONS 204'), ['POST 200', 'POST 401']);
    assert.equal(orders[0], 'OPTIONS 204', 'the first preflight answered by the gateway (Chromium may cache or repeat it)');
  });

  await t.test('a page on an unlisted origin: every fetch rejects with TypeError; the GET reached the upstream but its answer was withheld, the preflighted POSTs never left the browser', async () => {
    const before = seen.length;
    const r = await fetchesFrom(browser, `${otherPage.origin}/`, gateway);
    assert.deepEqual(r.get, { ok: false, error: 'TypeError', message: 'Failed to fetch' });
    assert.deepEqual(r.post, { ok: false, error: 'TypeError', message: 'Failed to fetch' });
    assert.deepEqual(r.noKey, { ok: false, error: 'TypeError', message: 'Failed to fetch' });
    assert.deepEqual(seen.slice(before).map((s) => `${s.method} ${s.url}`), ['GET /public/pets'], 'a simple GET is sent (CORS guards the answer, not the request); the POST is not');
    const blocked = r.console.filter((line) => line.includes('has been blocked by CORS policy'));
    assert.equal(blocked.length, 3, `Chromium reported all three as CORS blocks: ${r.console.join(' | ')}`);
    const refused = gw.logs.lines.filter((l) => l.msg === 'request' && l.route === 'orders' && l.status === 403).map((l) => String(l.method));
    assert.ok(refused.length >= 1 && refused.every((m) => m === 'OPTIONS'), `refused preflights only, no POST: ${refused.join(', ')}`);
  });
});

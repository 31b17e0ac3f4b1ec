// Routes that answer by themselves, served by a real gateway from hand-made tables: mocks whose substitutions are
// escaped for their content type (JSON, HTML, plain, header values), HEAD, redirects (prefix, full path with a
// template param, scheme/host/port, query kept), over HTTP/1.1, HTTP/1.1 over TLS and HTTP/2 on the TLS port; the
// answers in the route's metrics and access log; a WebSocket upgrade on such a route refused with 404; and tables with
// an impossible route refused by the proxy.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { route, table } from './helpers/tables.ts';
import { startTestGateway, type Gateway, type LogSink } from './helpers/gateway.ts';
import { send } from './helpers/http-client.ts';
import { selfSignedLocalhost } from './helpers/self-signed.ts';
import { h2request, h2session } from './helpers/http2-client.ts';
import { sampleOf, scrapeMetrics } from './helpers/authorizers.ts';
import { eventually } from '../support/wait-for.ts';
import type { TableDirectResponse, TableRedirect, TableRoute } from '../../proxy/table/table-schema.ts';

const pair = selfSignedLocalhost();
/** What a client may put in a value: quotes, markup, a backslash, and (decoded from the query) CR LF. */
const HOSTILE = `"quoted" </script><script>alert('x')</script> & \\`;

/** A route of the test table that answers itself (no backends). */
function answering(id: string, prefix: string, action: { directResponse: TableDirectResponse } | { redirect: TableRedirect }, extra: Partial<TableRoute> = {}): TableRoute {
  const { backends: _none, ...rest } = route(id, prefix, [], extra);
  return { ...rest, ...action };
}

const ROUTES: TableRoute[] = [
  answering('json', '/json', {
    directResponse: {
      status: 200,
      headers: [
        ['content-type', 'application/json'],
        ['x-echo', '${request.query.v}'],
      ],
      body: '{"path":"${request.path}","v":"${request.query.v}","h":"${request.header.x-v}","consumer":"${consumer}","literal":"$${kept}"}',
      escape: 'json',
    },
  }),
  answering('html', '/page', {
    directResponse: { status: 503, headers: [['content-type', 'text/html; charset=utf-8'], ['retry-after', '120']], body: '<p>Hello ${request.header.x-v}</p>', escape: 'html' },
  }),
  answering('plain', '/plain', { directResponse: { status: 200, headers: [['content-type', 'text/plain']], body: 'you sent ${request.query.v}', escape: 'none' } }),
  answering('health', '/healthz', { directResponse: { status: 204, headers: [], escape: 'none' } }),
  answering('moved', '/old', { redirect: { statusCode: 308, path: { kind: 'prefix', from: '/old', to: '/new/place' } } }),
  { ...answering('pets', '/pets/{id}', { redirect: { statusCode: 302, path: { kind: 'path', to: '/animals/{id}' } } }), path: { type: 'template', value: '/pets/{id}' } },
  answering('elsewhere', '/legacy', { redirect: { statusCode: 301, scheme: 'https', hostname: 'legacy.example.com' } }),
  answering('other-port', '/port', { redirect: { statusCode: 307, hostname: 'api.example.com', port: 9443 } }),
  answering('same-scheme', '/same', { redirect: { statusCode: 302, hostname: 'www.example.com' } }),
];

async function gateway(t: TestContext): Promise<Gateway & { logs: LogSink }> {
  const served = { ...table(ROUTES, []), certificates: [{ id: 'default/direct', certPem: pair.cert.toString(), keyPem: pair.key.toString() }], tlsHosts: [{ id: '*', certificate: 'default/direct' }] };
  return startTestGateway(t, served, { https: { port: 0 } });
}

test('direct responses: status, headers and body, with substitutions escaped for JSON, HTML, plain text and header values', async (t) => {
  const gw = await gateway(t);
  const v = `${HOSTILE}\r\nset-cookie: stolen=1`;
  const json = await send(gw.port, `/json/a%20b?v=${encodeURIComponent(v)}&other=1`, { headers: { 'x-v': HOSTILE } });
  assert.equal(json.status, 200);
  assert.equal(json.headers['content-type'], 'application/json');
  assert.equal(json.headers['content-length'], String(Buffer.byteLength(json.body)));
  assert.match(String(json.headers['x-request-id']), /./);
  const parsed = json.json<Record<string, string>>();
  assert.deepEqual(parsed, { path: '/json/a%20b', v, h: HOSTILE, consumer: '', literal: '${kept}' }, 'the values come back exactly: escaping kept them inside their strings');
  assert.doesNotMatch(json.body, /<\/?script/i, 'no markup survives raw in a JSON body');
  // The header value: CR LF percent-encoded, so no header of the client's making appears.
  assert.equal(json.headers['set-cookie'], undefined);
  assert.equal(json.headers['x-echo'], `${HOSTILE}%0D%0Aset-cookie: stolen=1`);

  const page = await send(gw.port, '/page', { headers: { 'x-v': HOSTILE } });
  assert.equal(page.status, 503);
  assert.equal(page.headers['retry-after'], '120');
  assert.equal(page.body, `<p>Hello &quot;quoted&quot; &lt;/script&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; \\</p>`);

  const plain = await send(gw.port, `/plain?v=${encodeURIComponent('<b>as is</b>')}`);
  assert.equal(plain.body, 'you sent <b>as is</b>', 'text/plain: no escaping');
  assert.equal((await send(gw.port, '/plain')).body, 'you sent ', 'a missing value is empty');

  const head = await send(gw.port, '/plain?v=abc', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String('you sent abc'.length));
  assert.equal(head.body, '');

  const health = await send(gw.port, '/healthz');
  assert.equal(health.status, 204);
  assert.equal(health.body, '');

  // A body the client sends is not needed, and the connection stays usable (it is read and dropped).
  const posted = await send(gw.port, '/plain?v=1', { method: 'POST', body: 'x'.repeat(100_000) });
  assert.equal(posted.body, 'you sent 1');
});

test('redirects: prefix replaced, a template param carried, scheme/host/port changed, the query kept', async (t) => {
  const gw = await gateway(t);
  const location = async (path: string, host = `localhost:${gw.port}`): Promise<[number, string]> => {
    const r = await send(gw.port, path, { headers: { host } });
    assert.equal(r.headers['content-length'], '0');
    return [r.status, String(r.headers.location)];
  };
  assert.deepEqual(await location('/old/items/7?sort=asc&x=%20'), [308, `http://localhost:${gw.port}/new/place/items/7?sort=asc&x=%20`]);
  assert.deepEqual(await location('/old'), [308, `http://localhost:${gw.port}/new/place`]);
  assert.deepEqual(await location('/pets/a%20b?full=1'), [302, `http://localhost:${gw.port}/animals/a%20b?full=1`]);
  assert.deepEqual(await location('/legacy/x?q=1'), [301, 'https://legacy.example.com/legacy/x?q=1'], 'scheme set: its well-known port');
  assert.deepEqual(await location('/port/y'), [307, 'http://api.example.com:9443/port/y']);
  assert.deepEqual(await location('/same/z', 'api.example.com:8080'), [302, 'http://www.example.com:8080/same/z'], 'host only: the request port stays');
  assert.deepEqual(await location('/same/z', 'api.example.com'), [302, 'http://www.example.com/same/z']);
  // A Host that is not a host name is never put in a Location.
  const bad = await send(gw.port, '/old/a', { headers: { host: 'evil.example/x?' } });
  assert.equal(bad.status, 400);
});

test('HTTP/2 and HTTP/1.1 over TLS take the same path: the mock, and a redirect keeping https', async (t) => {
  const gw = await gateway(t);
  const tlsPort = gw.httpsPort as number;
  const session = await h2session(t, tlsPort, pair.cert);
  const got = await h2request(session, { ':path': '/json/h2?v=%3Cx%3E', 'x-v': 'two' });
  assert.equal(got.status, 200);
  assert.deepEqual(JSON.parse(got.body), { path: '/json/h2', v: '<x>', h: 'two', consumer: '', literal: '${kept}' });
  assert.equal(got.headers['x-echo'], '<x>');
  const head = await h2request(session, { ':method': 'HEAD', ':path': '/page' });
  assert.equal(head.status, 503);
  assert.equal(head.body, '');
  const moved = await h2request(session, { ':path': '/old/a?b=c' });
  assert.equal(moved.status, 308);
  assert.equal(moved.headers.location, `https://localhost:${tlsPort}/new/place/a?b=c`);

  const h1 = await new Promise<{ status: number; location: string }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', servername: 'localhost', port: tlsPort, path: '/old/b', agent: new HttpsAgent({ ALPNProtocols: ['http/1.1'], ca: pair.cert }), headers: { host: `localhost:${tlsPort}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: String(res.headers.location) }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(h1, { status: 308, location: `https://localhost:${tlsPort}/new/place/b` });
});

test('answers are counted in the route metrics and access log; a WebSocket upgrade on such a route gets 404', async (t) => {
  const gw = await gateway(t);
  for (let i = 0; i < 3; i++) assert.equal((await send(gw.port, '/page')).status, 503);
  assert.equal((await send(gw.port, '/old/x')).status, 308);
  const metrics = await scrapeMetrics(gw.adminPort);
  assert.equal(sampleOf(metrics, 'gatehouse_requests_total', { route: 'html', method: 'GET', status_class: '5xx' }), 3);
  assert.equal(sampleOf(metrics, 'gatehouse_requests_total', { route: 'moved', method: 'GET', status_class: '3xx' }), 1);
  await eventually(() => gw.logs.lines.some((l) => l['route'] === 'moved' && l['status'] === 308), 'the redirect in the access log');
  const line = gw.logs.lines.find((l) => l['route'] === 'html' && l['status'] === 503);
  assert.ok(line, 'the 503 page in the access log');
  assert.equal(line['upstream'], undefined);
  assert.equal(line['bytesOut'], '<p>Hello </p>'.length);

  const status = await new Promise<string>((resolve, reject) => {
    const socket = connect(gw.port, '127.0.0.1', () =>
      socket.write(
        'GET /json HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    let text = '';
    socket.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      if (text.includes('\r\n')) {
        socket.destroy();
        resolve(text.slice(0, text.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
  });
  assert.match(status, /^HTTP\/1\.1 404 /);
});

test('the proxy refuses a table whose route has no action, two actions, forwarding settings on an answer, or a bad template', async (t) => {
  const gw = await startTestGateway(t, undefined);
  const direct: TableDirectResponse = { status: 200, headers: [], body: 'ok', escape: 'none' };
  const cases: Array<[string, TableRoute]> = [
    ['none', answering('none', '/', { directResponse: direct })],
    ['two', { ...route('two', '/', ['be']), directResponse: direct }],
    ['canary', { ...answering('c', '/', { directResponse: direct }), canary: { backends: [{ backend: 'be', weight: 1 }] } }],
    ['cache', { ...answering('k', '/', { directResponse: direct }), cache: { id: 'k/r0', ttlMs: 1000, varyHeaders: [], maxEntryBytes: 1024, storage: 'memory' } }],
    ['template', answering('t', '/', { directResponse: { ...direct, body: '${request.method}' } })],
    ['crlf', answering('h', '/', { directResponse: { ...direct, headers: [['x-a', 'a\r\nb']] } })],
    ['framing', answering('f', '/', { directResponse: { ...direct, headers: [['content-length', '2']] } })],
  ];
  const REASONS: Record<string, RegExp> = {
    none: /exactly one of backends, directResponse or redirect/,
    two: /exactly one of backends, directResponse or redirect/,
    canary: /canary, rewrite, websocket and cache need backends/,
    cache: /canary, rewrite, websocket and cache need backends/,
    template: /unknown variable "\$\{request\.method\}"/,
    crlf: /no control characters/,
    framing: /content-length is set by the proxy/,
  };
  const { directResponse: _d, ...noAction } = cases[0]?.[1] as TableRoute;
  cases[0] = ['none', noAction];
  for (const [name, r] of cases) {
    const applied = gw.applyTable(table([r], name === 'two' || name === 'canary' ? [{ id: 'be', protocol: 'http', pathPrefix: '', endpoints: [] }] : []));
    assert.equal(applied.ok, false, name);
    if (!applied.ok) assert.match(applied.error, REASONS[name] as RegExp, name);
  }
});

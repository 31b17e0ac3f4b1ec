// CORS end to end with a real client, gateway and upstream: preflights answered by the gateway (never the upstream),
// before authorization and rate limits and after client IP rules, on routes that do not list OPTIONS; CORS headers
// on every answer of a CORS route (the upstream's, and the gateway's own 401/429/502), Vary appended, the upstream's
// own Access-Control-* replaced; a refused origin gets none, never a reflected origin; credentials never get "*".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { buildRuntime } from '../../proxy/runtime/build-runtime.ts';
import type { TableCors } from '../../proxy/table/table-schema.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { errorBody, send, type Reply } from './helpers/http-client.ts';
import { apiKeyAuthorizer, auth, newSalt } from './helpers/authorizers.ts';
import { bucket, byClientIp, HOUR_MS, limit, ratePolicy } from './helpers/rate-policies.ts';
import { backend, route, table } from './helpers/tables.ts';
import { refusedPort, startUpstream, type Upstream } from './helpers/upstreams.ts';

const APP = 'https://app.example.com';

function cors(extra: Partial<TableCors> = {}): TableCors {
  return { allowOrigins: [APP], allowMethods: ['GET', 'POST', 'PUT'], allowHeaders: ['content-type', 'x-request-token'], exposeHeaders: ['x-total-count'], allowCredentials: true, maxAgeSeconds: 600, ...extra };
}

/** An upstream that records what it got and answers with its own (permissive) CORS headers and a Vary. */
async function startRecorder(): Promise<Upstream & { seen: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }> }> {
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }> = [];
  const up = await startUpstream('rec', (req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () =>
      res
        .writeHead(200, {
          'content-type': 'application/json',
          vary: 'Accept-Encoding',
          'x-total-count': '42',
          'access-control-allow-origin': '*',
          'access-control-allow-headers': '*',
        })
        .end(JSON.stringify({ method: req.method })),
    );
  });
  return Object.assign(up, { seen });
}

const corsFields = (reply: Reply): string[] => Object.keys(reply.headers).filter((h) => h.startsWith('access-control-')).sort();

function preflight(method: string, origin: string, headers?: string): Record<string, string> {
  return { origin, 'access-control-request-method': method, ...(headers !== undefined && { 'access-control-request-headers': headers }) };
}

test('actual requests: allowed origins get Allow-Origin (the origin, never "*" with credentials), Allow-Credentials, Expose-Headers and Vary appended; the upstream\'s CORS fields are replaced; a refused origin gets none', async (t) => {
  const up = await startRecorder();
  closeAfter(t, up);
  const gw = await startTestGateway(
    t,
    table(
      [
        route('creds', '/creds', ['be'], { cors: cors() }),
        route('wild', '/wild', ['be'], { cors: cors({ allowOrigins: ['https://*.example.com', 'http://localhost:8080'], allowCredentials: false, exposeHeaders: [] }) }),
        route('star', '/star', ['be'], { cors: cors({ allowOrigins: ['*'], allowCredentials: false }) }),
        route('plain', '/plain', ['be']),
      ],
      [backend('be', [up.port])],
    ),
  );

  const ok = await send(gw.port, '/creds', { headers: { origin: APP } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['access-control-allow-origin'], APP);
  assert.equal(ok.headers['access-control-allow-credentials'], 'true');
  assert.equal(ok.headers['access-control-expose-headers'], 'x-total-count');
  assert.deepEqual(corsFields(ok), ['access-control-allow-credentials', 'access-control-allow-origin', 'access-control-expose-headers'], "the upstream's allow-headers: * is gone");
  assert.equal(ok.headers.vary, 'Accept-Encoding, Origin', "Origin appended to the upstream's Vary");

  for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.net', 'http://app.example.com', 'null']) {
    const refused = await send(gw.port, '/creds', { headers: { origin } });
    assert.equal(refused.status, 200, 'the request is still served (CORS is a read permission for browsers)');
    assert.deepEqual(corsFields(refused), [], `${origin}: no CORS field at all, not even the upstream's "*"`);
    assert.equal(refused.headers.vary, 'Accept-Encoding, Origin');
  }
  const noOrigin = await send(gw.port, '/creds');
  assert.deepEqual(corsFields(noOrigin), []);
  assert.equal(noOrigin.headers.vary, 'Accept-Encoding, Origin', 'Vary: Origin on a CORS route even without Origin (caches)');

  // Subdomain wildcards: one or more labels, scheme and port exact, never the bare domain.
  for (const origin of ['https://a.example.com', 'https://a.b.example.com', 'https://APP.Example.com', 'http://localhost:8080']) {
    const r = await send(gw.port, '/wild', { headers: { origin } });
    assert.equal(r.headers['access-control-allow-origin'], origin, `${origin} admitted and reflected as sent`);
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
  }
  for (const origin of ['https://example.com', 'https://evil-example.com', 'http://a.example.com', 'https://a.example.com:8443', 'https://a.example.com.evil', 'http://localhost:8081']) {
    assert.deepEqual(corsFields(await send(gw.port, '/wild', { headers: { origin } })), [], `${origin} refused`);
  }

  const star = await send(gw.port, '/star', { headers: { origin: 'https://anyone.test' } });
  assert.equal(star.headers['access-control-allow-origin'], '*', '"*" without credentials answers "*"');

  // A route without CORS is left alone: the upstream's fields pass through, no Vary added.
  const plain = await send(gw.port, '/plain', { headers: { origin: APP } });
  assert.equal(plain.headers['access-control-allow-origin'], '*');
  assert.equal(plain.headers.vary, 'Accept-Encoding');
});

test('a table with allowCredentials and the "*" origin is refused by the proxy: a credentialed request never gets "*"', () => {
  const bad = table([route('r', '/', ['be'], { cors: cors({ allowOrigins: ['*'], allowCredentials: true }) })], [backend('be', [1])]);
  const built = buildRuntime(bad);
  assert.equal(built.ok, false);
  assert.match(!built.ok ? built.error : '', /routes\.0\.cors\.allowOrigins: allowCredentials with the "\*" origin/);
});

test('preflights: answered 204 by the gateway on a route that does not list OPTIONS, never reaching the upstream; a refused origin, method or header gets 403 without CORS fields', async (t) => {
  const up = await startRecorder();
  closeAfter(t, up);
  const gw = await startTestGateway(
    t,
    table(
      [
        route('orders', '/orders', ['be'], { methods: ['GET', 'PUT'], cors: cors() }),
        route('anyhdr', '/anyhdr', ['be'], { methods: ['POST'], cors: cors({ allowOrigins: ['*'], allowCredentials: false, allowHeaders: ['*'], maxAgeSeconds: undefined }) }),
        route('nocors', '/nocors', ['be']),
        route('getonly', '/getonly', ['be'], { methods: ['GET'] }),
      ],
      [backend('be', [up.port])],
    ),
  );

  const ok = await send(gw.port, '/orders/7', { method: 'OPTIONS', headers: preflight('PUT', APP, 'Content-Type, X-Request-Token') });
  assert.equal(ok.status, 204);
  assert.equal(ok.body, '');
  assert.equal(ok.headers['access-control-allow-origin'], APP);
  assert.equal(ok.headers['access-control-allow-methods'], 'GET, POST, PUT');
  assert.equal(ok.headers['access-control-allow-headers'], 'Content-Type, X-Request-Token', 'the requested names, as asked');
  assert.equal(ok.headers['access-control-allow-credentials'], 'true');
  assert.equal(ok.headers['access-control-max-age'], '600');
  assert.equal(ok.headers.vary, 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
  assert.equal(ok.headers['access-control-expose-headers'], undefined, 'expose-headers belongs on actual responses');
  assert.equal(up.hits(), 0, 'the upstream never saw the preflight');

  const refusals: Array<[string, Record<string, string>]> = [
    ['origin', preflight('PUT', 'https://evil.example.com')],
    ['method', preflight('DELETE', APP)],
    ['header', preflight('PUT', APP, 'content-type, x-evil')],
    ['authorization not listed', preflight('PUT', APP, 'authorization')],
  ];
  for (const [what, headers] of refusals) {
    const r = await send(gw.port, '/orders/7', { method: 'OPTIONS', headers });
    // DELETE has no route under /orders at all: not a CORS preflight of any route, so normal routing answers 405.
    assert.equal(r.status, what === 'method' ? 405 : 403, `refused ${what}: ${r.body}`);
    assert.deepEqual(corsFields(r), [], `refused ${what}: no CORS field, no reflected origin`);
    if (what !== 'method') assert.equal(errorBody(r).error, 'cors preflight refused');
  }
  // A method the route takes but CORS does not allow is refused by CORS.
  const notAllowed = await send(gw.port, '/anyhdr', { method: 'OPTIONS', headers: preflight('POST', 'https://x.test', 'X-Anything, authorization') });
  assert.equal(notAllowed.status, 403, '"*" headers never cover authorization');
  const anyHeader = await send(gw.port, '/anyhdr', { method: 'OPTIONS', headers: preflight('POST', 'https://x.test', 'X-Anything, x-other') });
  assert.equal(anyHeader.status, 204);
  assert.equal(anyHeader.headers['access-control-allow-origin'], '*');
  assert.equal(anyHeader.headers['access-control-allow-headers'], 'X-Anything, x-other');
  assert.equal(anyHeader.headers['access-control-max-age'], undefined);
  assert.equal(up.hits(), 0);

  // Not the gateway's preflight: a route without CORS gets the OPTIONS as any other request (its upstream may
  // answer CORS itself); an OPTIONS without Access-Control-Request-Method is routed normally too.
  const forwarded = await send(gw.port, '/nocors', { method: 'OPTIONS', headers: preflight('GET', APP) });
  assert.equal(forwarded.status, 200);
  assert.equal(up.seen.at(-1)?.method, 'OPTIONS');
  assert.equal((await send(gw.port, '/getonly', { method: 'OPTIONS', headers: preflight('GET', APP) })).status, 405, 'routed as OPTIONS: the route takes GET only');
  assert.equal((await send(gw.port, '/orders/7', { method: 'OPTIONS', headers: { origin: APP } })).status, 405, 'no Access-Control-Request-Method: not a preflight');

  const logged = gw.logs.lines.filter((l) => l.msg === 'request' && l.route === 'orders' && l.method === 'OPTIONS').map((l) => l.status);
  assert.deepEqual(logged, [204, 403, 403, 403], 'preflights are logged on their route');
});

test('preflights come before authorization and rate limits (no credentials, not counted) and after client IP rules; the gateway\'s own 401, 429 and 502 carry the CORS fields', async (t) => {
  const up = await startRecorder();
  const down = await refusedPort();
  closeAfter(t, up);
  const salt = newSalt();
  const alice = { key: 'alice-1b2c3d4e5f607182', consumer: 'alice' };
  const keys = apiKeyAuthorizer('test/keys', salt, [alice]);
  const once = ratePolicy('test/once', [limit('once', byClientIp, bucket(1, HOUR_MS, 1))]);
  const gw = await startTestGateway(
    t,
    table(
      [
        route('secure', '/secure', ['be'], { methods: ['POST'], cors: cors({ allowHeaders: ['content-type', 'x-api-key'] }), auth: auth('test/keys'), ratePolicies: ['test/once'] }),
        route('denied', '/denied', ['be'], { cors: cors(), clientIp: { allow: [], deny: ['127.0.0.0/8'] } }),
        route('down', '/down', ['gone'], { cors: cors() }),
      ],
      [backend('be', [up.port]), backend('gone', [down])],
      undefined,
      [keys],
      [once],
    ),
  );

  for (let i = 0; i < 3; i++) {
    const p = await send(gw.port, '/secure', { method: 'OPTIONS', headers: preflight('POST', APP, 'x-api-key, content-type') });
    assert.equal(p.status, 204, `preflight ${i}: no credentials needed, never throttled`);
  }
  const noKey = await send(gw.port, '/secure', { method: 'POST', headers: { origin: APP }, body: '{}' });
  assert.equal(noKey.status, 401);
  assert.equal(noKey.headers['access-control-allow-origin'], APP, 'a 401 the page can read');
  assert.equal(noKey.headers['access-control-allow-credentials'], 'true');
  assert.equal(noKey.headers.vary, 'Origin');
  const withKey = await send(gw.port, '/secure', { method: 'POST', headers: { origin: APP, 'x-api-key': alice.key }, body: '{}' });
  assert.equal(withKey.status, 200);
  assert.equal(withKey.headers['access-control-allow-origin'], APP);
  const limited = await send(gw.port, '/secure', { method: 'POST', headers: { origin: APP, 'x-api-key': alice.key }, body: '{}' });
  assert.equal(limited.status, 429, 'the one token went to the first authorised POST');
  assert.equal(limited.headers['access-control-allow-origin'], APP, 'a 429 the page can read');
  assert.equal(limited.headers['access-control-expose-headers'], 'x-total-count');
  assert.equal((await send(gw.port, '/secure', { method: 'OPTIONS', headers: preflight('POST', APP) })).status, 204, 'still answered when the limit is spent');
  assert.deepEqual(
    up.seen.map((s) => s.method),
    ['POST'],
    'the upstream saw the one authorised POST, no OPTIONS',
  );

  const ipDenied = await send(gw.port, '/denied', { method: 'OPTIONS', headers: preflight('GET', APP) });
  assert.equal(ipDenied.status, 403, 'client IP rules apply to preflights');
  assert.equal(errorBody(ipDenied).error, 'forbidden');
  assert.deepEqual(corsFields(ipDenied), []);

  const bad = await send(gw.port, '/down', { headers: { origin: APP } });
  assert.equal(bad.status, 502);
  assert.equal(bad.headers['access-control-allow-origin'], APP, 'a 502 the page can read');
  assert.equal(errorBody(bad).error.length > 0, true);
});

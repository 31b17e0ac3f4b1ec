// The front door's parsers one value at a time (the end-to-end tests in test/e2e/http-front-door.test.ts send them
// through a real gateway): request targets, Host values, HTTP versions, the client-claimed header rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { parseRequestTarget } from '../../proxy/server/request-target.ts';
import { hostForMatching, requestHost } from '../../proxy/server/host-header.ts';
import { supportedVersion } from '../../proxy/server/http-version.ts';
import { keepsClaim, METHOD_OVERRIDE, PEER_VOUCHED } from '../../proxy/forward/client-claimed-headers.ts';

test('origin-form targets: path and query as sent; dot segments, bad escapes and %00 refused', () => {
  assert.deepEqual(parseRequestTarget('/a/b?x=1&y=%20'), { path: '/a/b', query: 'x=1&y=%20', authority: null });
  assert.deepEqual(parseRequestTarget('/a%2Fb%41%20c'), { path: '/a%2Fb%41%20c', query: '', authority: null });
  assert.deepEqual(parseRequestTarget('/v1.2/file.json'), { path: '/v1.2/file.json', query: '', authority: null });
  assert.deepEqual(parseRequestTarget('/a?%00'), { path: '/a', query: '%00', authority: null }, 'only the path is checked');
  for (const bad of ['/a/../b', '/a/./b', '/a/%2E%2e/b', '/a/%2e', '/a%zz', '/a%4', '/a%00b', '/a/%00', '*', '', 'a/b']) {
    assert.equal(parseRequestTarget(bad), null, bad);
  }
});

test('absolute-form targets: the authority as a URL parser reads it, the path as sent; userinfo and other schemes refused', () => {
  assert.deepEqual(parseRequestTarget('http://API.Example.com:8080/a/%41?q=1'), { path: '/a/%41', query: 'q=1', authority: 'api.example.com:8080' });
  assert.deepEqual(parseRequestTarget('https://api.example.com:443/a'), { path: '/a', query: '', authority: 'api.example.com' }, 'default port dropped');
  assert.deepEqual(parseRequestTarget('HTTP://api.example.com/a'), { path: '/a', query: '', authority: 'api.example.com' }, 'schemes are case-insensitive');
  assert.deepEqual(parseRequestTarget('http://api.example.com'), { path: '/', query: '', authority: 'api.example.com' });
  assert.deepEqual(parseRequestTarget('http://api.example.com?x/y'), { path: '/', query: 'x/y', authority: 'api.example.com' }, 'a "/" in the query is not the path');
  assert.deepEqual(parseRequestTarget('http://[::1]:9000/a'), { path: '/a', query: '', authority: '[::1]:9000' });
  for (const bad of [
    'http://user:pw@h/',
    'http://user@h/',
    'http://@h/',
    'http://h/a/../b',
    'http:///a',
    'http://',
    'http://h:99999/',
    'http://h#frag',
    'ftp://h/',
    'http://exa mple.com/',
  ]) {
    assert.equal(parseRequestTarget(bad), null, bad);
  }
});

test('Host values: lower-case, no port, one trailing dot off; anything but host[:port] refused', () => {
  const cases: Array<[string, string]> = [
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM:8080', 'api.example.com'],
    ['api.example.com.', 'api.example.com'],
    ['api.example.com.:443', 'api.example.com'],
    ['localhost', 'localhost'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['[::1]', '[::1]'],
    ['[2001:DB8::1]:8443', '[2001:db8::1]'],
    ['[::ffff:10.0.0.1]', '[::ffff:10.0.0.1]'],
    ['under_score-dash.example', 'under_score-dash.example'],
    ['h:65535', 'h'],
  ];
  for (const [value, host] of cases) assert.equal(hostForMatching(value), host, value);
  for (const bad of ['', '.', '.a', 'a..b', 'a/b', 'a\\b', 'a b', 'a@b', 'a%2eb', 'a\u0000', 'é.example', 'a:', 'a:65536', 'a:123456', 'a:8x', 'a:b', '[::1', '[]', '[::g]', '[::1]x', '[::1]:', ':80']) {
    assert.equal(hostForMatching(bad), null, JSON.stringify(bad));
  }
});

test('requestHost: one Host line, required on HTTP/1.1 only, replaced by an absolute-form authority', () => {
  const request = (rawHeaders: string[], minor = 1): IncomingMessage => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < rawHeaders.length; i += 2) headers[(rawHeaders[i] as string).toLowerCase()] ??= rawHeaders[i + 1] as string;
    return { rawHeaders, headers, httpVersionMajor: 1, httpVersionMinor: minor } as unknown as IncomingMessage;
  };
  assert.equal(requestHost(request(['Host', 'API.example.com', 'Accept', '*/*']), null), 'api.example.com');
  assert.deepEqual(requestHost(request(['Host', 'a', 'HOST', 'a']), null), { error: 'more than one host header' });
  assert.deepEqual(requestHost(request(['Accept', '*/*']), null), { error: 'missing host header' });
  assert.equal(requestHost(request(['Accept', '*/*'], 0), null), '', 'HTTP/1.0 may omit Host');
  assert.deepEqual(requestHost(request(['Host', 'a/b']), null), { error: 'invalid host header' });
  const proxied = request(['Host', 'ignored.example.com']);
  assert.equal(requestHost(proxied, 'target.example.com:8080'), 'target.example.com');
  assert.equal(proxied.headers.host, 'target.example.com:8080', 'the authority is the Host from here on');
});

test('HTTP versions: 1.x, and 2 only as a real HTTP/2 stream', () => {
  assert.equal(supportedVersion({ httpVersionMajor: 1 }), true);
  assert.equal(supportedVersion({ httpVersionMajor: 0 }), false, 'HTTP/0.9');
  assert.equal(supportedVersion({ httpVersionMajor: 2 }), false, '"HTTP/2.0" in an HTTP/1 request line');
  assert.equal(supportedVersion({ httpVersionMajor: 2, stream: {} }), true);
});

test('client claims: address headers by peer trust, method overrides by the route methods', () => {
  const req = {} as IncomingMessage;
  const trusting = { trustsPeer: () => true };
  const doubting = { trustsPeer: () => false };
  assert.equal(keepsClaim(PEER_VOUCHED, 'for=1.2.3.4', req, [], trusting), true);
  assert.equal(keepsClaim(PEER_VOUCHED, 'for=1.2.3.4', req, [], doubting), false);
  const override = (value: string | string[], methods: string[]): boolean => keepsClaim(METHOD_OVERRIDE, value, req, methods, doubting);
  assert.equal(override('DELETE', []), true);
  assert.equal(override('trace', []), false);
  assert.equal(override('CONNECT', []), false);
  assert.equal(override('delete', ['POST']), false);
  assert.equal(override(' post ', ['POST']), true);
  assert.equal(override('HEAD', ['GET']), true);
  assert.equal(override('TRACE', ['GET', 'TRACE']), true);
  assert.equal(override(['POST', 'POST'], ['POST']), false, 'repeated: refused rather than guessed');
});

// The CORS pieces on their own: the origin matcher (exact, subdomain wildcard, "*"), origin normalisation by the
// compiler, Vary merging, requested-header checks, and the schema's refusals (credentials with "*", origins with paths).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corsSchema } from '../../crds/schemas/api-route.ts';
import { normalizeOrigin, routeCors } from '../../controller/compile/cors-compiler.ts';
import { OriginMatcher } from '../../proxy/policy/cors/origin-matcher.ts';
import { RouteCors } from '../../proxy/policy/cors/route-cors.ts';
import { withVary } from '../../proxy/policy/cors/cors-headers.ts';

test('origin matcher: exact (case-insensitive), subdomain wildcards of one or more labels with scheme and port exact, "*"', () => {
  const m = new OriginMatcher(['https://app.example.com', 'https://*.example.org', 'http://*.local.test:8080', 'http://[::1]:3000']);
  const yes = ['https://app.example.com', 'HTTPS://APP.EXAMPLE.COM', 'https://a.example.org', 'https://a.b-c.d.example.org', 'http://x.local.test:8080', 'http://[::1]:3000'];
  const no = [
    'https://example.org', // the bare domain is not a subdomain
    'https://.example.org',
    'https://a..example.org',
    'https://evil-example.org',
    'http://a.example.org', // scheme differs
    'https://a.example.org:8443', // port differs
    'https://a.example.org.evil.net',
    'https://evil.net/.example.org',
    'https://user@a.example.org',
    'https://a.example.org, https://b.example.org', // a joined duplicate header
    'http://x.local.test',
    'https://app.example.com:443', // browsers never send the default port; the compiler drops it from the list
    'null',
    '',
  ];
  for (const o of yes) assert.equal(m.allows(o), true, o);
  for (const o of no) assert.equal(m.allows(o), false, o);
  assert.equal(m.any, false);
  const any = new OriginMatcher(['*']);
  assert.equal(any.any, true);
  assert.equal(any.allows('null'), true);
});

test('origins are normalised as browsers send them: lower-case, default ports dropped, leading zeros gone', () => {
  assert.equal(normalizeOrigin('HTTPS://App.Example.com:443'), 'https://app.example.com');
  assert.equal(normalizeOrigin('http://example.com:80'), 'http://example.com');
  assert.equal(normalizeOrigin('http://example.com:443'), 'http://example.com:443');
  assert.equal(normalizeOrigin('http://localhost:08080'), 'http://localhost:8080');
  assert.equal(normalizeOrigin('https://*.Example.com'), 'https://*.example.com');
  assert.equal(normalizeOrigin('http://[::1]'), 'http://[::1]');
  assert.equal(normalizeOrigin('http://[::1]:80'), 'http://[::1]');
  assert.equal(normalizeOrigin('capacitor://localhost'), 'capacitor://localhost');
  assert.equal(normalizeOrigin('*'), '*');
  const compiled = routeCors({ allowOrigins: ['https://b.example', '*', 'https://a.example'], allowHeaders: ['X-Token'] });
  assert.deepEqual(compiled?.allowOrigins, ['*']);
  assert.deepEqual(compiled?.allowMethods, ['GET', 'HEAD', 'POST'], 'default: what browsers send without asking');
  assert.deepEqual(compiled?.allowHeaders, ['x-token']);
});

test('Vary: Origin is added once to what the upstream varies on', () => {
  assert.equal(withVary(undefined, 'Origin'), 'Origin');
  assert.equal(withVary('', 'Origin'), 'Origin');
  assert.equal(withVary('Accept-Encoding', 'Origin'), 'Accept-Encoding, Origin');
  assert.equal(withVary(['Accept-Encoding', 'Cookie'], 'Origin'), 'Accept-Encoding, Cookie, Origin');
  assert.equal(withVary('accept-encoding, origin', 'Origin'), 'accept-encoding, origin');
  assert.equal(withVary('*', 'Origin'), '*');
});

test('requested headers: all must be allowed, case-insensitive; "*" admits any but authorization', () => {
  const base = { allowOrigins: ['https://a.example'], allowMethods: ['GET'], exposeHeaders: [], allowCredentials: true };
  const listed = new RouteCors({ ...base, allowHeaders: ['content-type', 'x-token'] }, undefined);
  assert.equal(listed.allowsHeaders('Content-Type,X-Token'), true);
  assert.equal(listed.allowsHeaders(' x-token , '), true);
  assert.equal(listed.allowsHeaders('x-token, x-other'), false);
  const star = new RouteCors({ ...base, allowHeaders: ['*'] }, undefined);
  assert.equal(star.allowsHeaders('x-anything, X-Else'), true);
  assert.equal(star.allowsHeaders('x-anything, Authorization'), false);
  const named = new RouteCors({ ...base, allowHeaders: ['*', 'authorization'] }, undefined);
  assert.equal(named.allowsHeaders('x-anything, Authorization'), true);
  // Credentials with "*" cannot come from a valid table; built anyway, it admits no origin rather than every one.
  const unsafe = new RouteCors({ ...base, allowOrigins: ['*'], allowHeaders: [] }, undefined);
  assert.equal(unsafe.origins.allows('https://a.example'), false);
});

test('schema: allowCredentials with "*" and origins that are not scheme://host[:port] are refused with their fields', () => {
  const issues = (value: unknown): string[] => {
    const r = corsSchema.safeParse(value);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(issues({ allowOrigins: ['*'], allowCredentials: true }), ['allowOrigins: allowCredentials cannot be used with the "*" origin: list the origins that may send credentials']);
  assert.deepEqual(issues({ allowOrigins: ['*'], allowCredentials: false }), []);
  assert.deepEqual(issues({ allowOrigins: ['https://*.example.com', 'http://localhost:8080', 'http://[::1]:3000'], allowCredentials: true }), []);
  for (const bad of ['https://app.example.com/', 'https://app.example.com/path', 'app.example.com', 'https://', 'https://app.example.com?x', 'https://a.*.example.com', 'https://*', 'https://app.example.com:port']) {
    assert.equal(issues({ allowOrigins: [bad] }).length, 1, bad);
  }
});

// Path tiers and their precedence, templates and params, methods and 405s.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRouteIndex } from '../../proxy/router/route-index.ts';
import type { MatchResult, RouteIndex } from '../../proxy/router/route-index-types.ts';
import { request, route, type RequestSpec, type RouteSpec } from './router-fixture.ts';

function index(...specs: RouteSpec[]): RouteIndex {
  return buildRouteIndex(specs.map(route));
}

/** The winning route id, "404", or "405 <Allow>". */
function outcome(result: MatchResult): string {
  if (result.kind === 'route') return result.route.id;
  if (result.kind === 'not-found') return '404';
  return `405 ${result.allow.join(',')}`;
}

function match(ix: RouteIndex, path: string, extra: Omit<RequestSpec, 'path'> = {}): string {
  return outcome(ix.match(request({ path, ...extra })));
}

function params(ix: RouteIndex, path: string): Record<string, string> | null | undefined {
  const result = ix.match(request({ path }));
  return result.kind === 'route' ? result.params : undefined;
}

describe('router: exact paths', () => {
  it('matches the path exactly and raw, trailing slash included', () => {
    const ix = index({ id: 'a', path: '/a' }, { id: 'a-slash', path: '/a/' }, { id: 'enc', path: '/a%20b' });
    assert.equal(match(ix, '/a'), 'a');
    assert.equal(match(ix, '/a/'), 'a-slash');
    assert.equal(match(ix, '/a/b'), '404');
    assert.equal(match(ix, '/a%20b'), 'enc');
    assert.equal(match(ix, '/a b'), '404');
  });

  it('ignores the query string', () => {
    const ix = index({ id: 'a', path: '/a' });
    assert.equal(match(ix, '/a?x=1'), 'a');
  });

  it('returns null params and the same frozen result object for every hit', () => {
    const ix = index({ id: 'a', path: '/a' });
    const first = ix.match(request({ path: '/a' }));
    assert.equal(first.kind === 'route' && first.params, null);
    assert.equal(ix.match(request({ path: '/a' })), first);
    assert.ok(Object.isFrozen(first));
  });
});

describe('router: prefixes', () => {
  it('match on segment boundaries only', () => {
    const ix = index({ id: 'api', path: '/api*' });
    assert.equal(match(ix, '/api'), 'api');
    assert.equal(match(ix, '/api/'), 'api');
    assert.equal(match(ix, '/api/x/y'), 'api');
    assert.equal(match(ix, '/apix'), '404');
    assert.equal(match(ix, '/ap'), '404');
  });

  it('treat a trailing slash in the prefix as the same boundary', () => {
    const ix = index({ id: 'api', path: '/api/*' });
    assert.equal(match(ix, '/api'), 'api');
    assert.equal(match(ix, '/api/x'), 'api');
    assert.equal(match(ix, '/apix'), '404');
  });

  it('"/" matches everything', () => {
    const ix = index({ id: 'root', path: '/*' });
    for (const p of ['/', '/a', '/a/b/', '//x']) assert.equal(match(ix, p), 'root', p);
  });

  it('longest prefix wins, whatever the table order', () => {
    const ix = index({ id: 'root', path: '/*' }, { id: 'api', path: '/api*' }, { id: 'v1', path: '/api/v1*' });
    assert.equal(match(ix, '/api/v1/users'), 'v1');
    assert.equal(match(ix, '/api/v1'), 'v1');
    assert.equal(match(ix, '/api/v2'), 'api');
    assert.equal(match(ix, '/other'), 'root');
  });

  it('a shorter prefix wins when the longer one fails on method', () => {
    const ix = index({ id: 'api', path: '/api*' }, { id: 'v1-post', path: '/api/v1*', methods: ['POST'] });
    assert.equal(match(ix, '/api/v1/x', { method: 'POST' }), 'v1-post');
    assert.equal(match(ix, '/api/v1/x', { method: 'GET' }), 'api');
  });
});

describe('router: templates', () => {
  it('{name} matches one non-empty segment and returns decoded params', () => {
    const ix = index({ id: 'user', path: '/users/{id}' });
    assert.deepEqual(params(ix, '/users/42'), { id: '42' });
    assert.deepEqual(params(ix, '/users/a%20b%2Fc'), { id: 'a b/c' });
    assert.equal(match(ix, '/users/'), '404');
    assert.equal(match(ix, '/users'), '404');
    assert.equal(match(ix, '/users/42/x'), '404');
  });

  it('does not match a trailing slash unless the template has one', () => {
    const ix = index({ id: 'user', path: '/users/{id}' }, { id: 'slash', path: '/items/{id}/' });
    assert.equal(match(ix, '/users/42/'), '404');
    assert.equal(match(ix, '/items/42/'), 'slash');
    assert.equal(match(ix, '/items/42'), '404');
  });

  it('several params', () => {
    const ix = index({ id: 'repo', path: '/orgs/{org}/repos/{repo}' });
    assert.deepEqual(params(ix, '/orgs/acme/repos/gatehouse'), { org: 'acme', repo: 'gatehouse' });
  });

  it('a malformed escape in a param means that template does not match', () => {
    const ix = index({ id: 'user', path: '/users/{id}' }, { id: 'fallback', path: '/users*' });
    assert.equal(match(ix, '/users/%E0%A4%A'), 'fallback');
    assert.equal(match(ix, '/users/%zz'), 'fallback');
  });

  it('static segments are matched raw (not decoded)', () => {
    const ix = index({ id: 'enc', path: '/a%2Fb/{x}' });
    assert.deepEqual(params(ix, '/a%2Fb/1'), { x: '1' });
    assert.equal(match(ix, '/a/b/1'), '404');
  });

  it('{name+} matches the rest of the path, slashes included', () => {
    const ix = index({ id: 'files', path: '/files/{path+}' });
    assert.deepEqual(params(ix, '/files/a'), { path: 'a' });
    assert.deepEqual(params(ix, '/files/a/b/c.txt'), { path: 'a/b/c.txt' });
    assert.deepEqual(params(ix, '/files/a/b/'), { path: 'a/b/' });
    assert.deepEqual(params(ix, '/files/a%2Fb/c%20d'), { path: 'a/b/c d' });
    assert.equal(match(ix, '/files/'), '404');
    assert.equal(match(ix, '/files'), '404');
  });

  it('greedy at the root', () => {
    const ix = index({ id: 'all', path: '/{rest+}' });
    assert.deepEqual(params(ix, '/x/y'), { rest: 'x/y' });
    assert.equal(match(ix, '/'), '404');
  });

  it('a segment may mix static text and one param', () => {
    const ix = index({ id: 'json', path: '/docs/{name}.json' }, { id: 'ver', path: '/v{major}/ping' });
    assert.deepEqual(params(ix, '/docs/readme.json'), { name: 'readme' });
    assert.equal(match(ix, '/docs/.json'), '404');
    assert.equal(match(ix, '/docs/readme.xml'), '404');
    assert.deepEqual(params(ix, '/v2/ping'), { major: '2' });
    assert.equal(match(ix, '/v/ping'), '404');
  });

  it('a static segment beats a param at the same position', () => {
    const ix = index({ id: 'param', path: '/users/{id}' }, { id: 'me', path: '/users/me' , }, { id: 'tpl-me', path: { type: 'template', value: '/users/me' } });
    // exact beats templates; among templates the static one wins.
    assert.equal(match(ix, '/users/me'), 'me');
    const tplOnly = index({ id: 'param', path: '/users/{id}' }, { id: 'tpl-me', path: { type: 'template', value: '/users/me' } });
    assert.equal(match(tplOnly, '/users/me'), 'tpl-me');
    assert.equal(match(tplOnly, '/users/you'), 'param');
  });

  it('more static segments first, even when the first static comes later', () => {
    const ix = index({ id: 'early', path: '/a/{x}/{y}' }, { id: 'more', path: '/{p}/b/c' });
    assert.equal(match(ix, '/a/b/c'), 'more');
    assert.equal(match(ix, '/a/b/d'), 'early');
  });

  it('at equal static counts, the earlier static position wins', () => {
    const ix = index({ id: 'late', path: '/{x}/b' }, { id: 'early', path: '/a/{y}' });
    assert.equal(match(ix, '/a/b'), 'early');
    assert.deepEqual(params(ix, '/a/b'), { y: 'b' });
  });

  it('static > mixed > param > greedy at the same position', () => {
    const ix = index(
      { id: 'greedy', path: '/f/{rest+}' },
      { id: 'param', path: '/f/{name}' },
      { id: 'mixed', path: '/f/{name}.json' },
      { id: 'static', path: { type: 'template', value: '/f/index.json' } },
    );
    assert.equal(match(ix, '/f/index.json'), 'static');
    assert.equal(match(ix, '/f/a.json'), 'mixed');
    assert.equal(match(ix, '/f/a'), 'param');
    assert.equal(match(ix, '/f/a/b'), 'greedy');
  });

  it('falls back to a lower-ranked template when the best one fails on method', () => {
    const ix = index({ id: 'me-post', path: '/users/me/{x}', methods: ['POST'] }, { id: 'any', path: '/users/{id}/{x}' });
    assert.equal(match(ix, '/users/me/1', { method: 'POST' }), 'me-post');
    assert.equal(match(ix, '/users/me/1', { method: 'GET' }), 'any');
    assert.deepEqual(params(ix, '/users/me/1'), { id: 'me', x: '1' });
  });

  it('same shape, different param names: each route gets its own names', () => {
    const ix = index({ id: 'get', path: '/u/{id}', methods: ['GET'] }, { id: 'del', path: '/u/{uid}', methods: ['DELETE'] });
    const del = ix.match(request({ path: '/u/7', method: 'DELETE' }));
    assert.equal(del.kind === 'route' && del.route.id, 'del');
    assert.deepEqual(del.kind === 'route' && del.params, { uid: '7' });
    assert.deepEqual(params(ix, '/u/7'), { id: '7' });
  });
});

describe('router: tier precedence', () => {
  it('exact > template > prefix > regex, regardless of table order', () => {
    const ix = index(
      { id: 'regex', path: { type: 'regex', value: '/a/.*' } },
      { id: 'prefix', path: '/a*' },
      { id: 'template', path: '/a/{x}' },
      { id: 'exact', path: '/a/b' },
    );
    assert.equal(match(ix, '/a/b'), 'exact');
    assert.equal(match(ix, '/a/c'), 'template');
    assert.equal(match(ix, '/a/c/d'), 'prefix');
    const regexOverPrefix = index({ id: 'regex', path: { type: 'regex', value: '/a/.*' } }, { id: 'prefix', path: '/b*' });
    assert.equal(match(regexOverPrefix, '/a/z'), 'regex');
  });

  it('a lower tier wins when the higher one fails on method', () => {
    const ix = index({ id: 'exact-post', path: '/a', methods: ['POST'] }, { id: 'prefix', path: '/a*', methods: ['GET'] });
    assert.equal(match(ix, '/a', { method: 'GET' }), 'prefix');
    assert.equal(match(ix, '/a', { method: 'POST' }), 'exact-post');
    assert.equal(match(ix, '/a', { method: 'PUT' }), '405 GET,HEAD,POST');
  });

  it('ties go to more header+query matchers, then table order', () => {
    const ix = index(
      { id: 'first', path: '/t' },
      { id: 'second', path: '/t' },
      { id: 'header', path: '/t', headers: [{ name: 'x-beta', type: 'present' }] },
      { id: 'both', path: '/t', headers: [{ name: 'x-beta', type: 'present' }], query: [{ name: 'v', type: 'exact', value: '2' }] },
    );
    assert.equal(match(ix, '/t'), 'first');
    assert.equal(match(ix, '/t', { headers: { 'x-beta': '1' } }), 'header');
    assert.equal(match(ix, '/t?v=2', { headers: { 'x-beta': '1' } }), 'both');
    const tpl = index({ id: 'plain', path: '/u/{id}' }, { id: 'q', path: '/u/{uid}', query: [{ name: 'x', type: 'present' }] });
    assert.equal(match(tpl, '/u/1?x'), 'q');
    assert.equal(match(tpl, '/u/1'), 'plain');
    const pre = index({ id: 'plain', path: '/p*' }, { id: 'h', path: '/p*', headers: [{ name: 'x', type: 'present' }] });
    assert.equal(match(pre, '/p/1', { headers: { x: '' } }), 'h');
  });
});

describe('router: regex paths', () => {
  it('are anchored over the whole path', () => {
    const ix = index({ id: 'r', path: { type: 'regex', value: '/v[0-9]+' } });
    assert.equal(match(ix, '/v12'), 'r');
    assert.equal(match(ix, '/v12/x'), '404');
    assert.equal(match(ix, '/x/v12'), '404');
  });

  it('alternation stays anchored', () => {
    const ix = index({ id: 'r', path: { type: 'regex', value: '/a|/b' } });
    assert.equal(match(ix, '/a'), 'r');
    assert.equal(match(ix, '/ab'), '404');
    assert.equal(match(ix, '/xb'), '404');
  });

  it('are tried in table order', () => {
    const ix = index({ id: 'one', path: { type: 'regex', value: '/x/.*' } }, { id: 'two', path: { type: 'regex', value: '/x/y' } });
    assert.equal(match(ix, '/x/y'), 'one');
  });

  it('named groups become decoded params', () => {
    const ix = index({ id: 'r', path: { type: 'regex', value: '/items/(?<id>[^/]+)' } }, { id: 'plain', path: { type: 'regex', value: '/p/(\\d+)' } });
    assert.deepEqual(params(ix, '/items/a%20b'), { id: 'a b' });
    assert.equal(params(ix, '/p/1'), null);
  });
});

describe('router: methods', () => {
  it('empty methods means any method', () => {
    const ix = index({ id: 'a', path: '/a' });
    for (const m of ['GET', 'POST', 'PATCH', 'PURGE']) assert.equal(match(ix, '/a', { method: m }), 'a');
  });

  it('HEAD is allowed where GET is', () => {
    const ix = index({ id: 'get', path: '/a', methods: ['GET'] }, { id: 'post', path: '/b', methods: ['POST'] });
    assert.equal(match(ix, '/a', { method: 'HEAD' }), 'get');
    assert.equal(match(ix, '/b', { method: 'HEAD' }), '405 POST');
  });

  it('405 lists the sorted unique methods of every path match, with HEAD for GET', () => {
    const ix = index(
      { id: 'get', path: '/a', methods: ['GET'] },
      { id: 'put', path: '/a/{x}', methods: ['PUT', 'DELETE'] },
      { id: 'post', path: '/*', methods: ['POST', 'GET'] },
      { id: 'other', path: '/b', methods: ['PATCH'] },
    );
    assert.equal(match(ix, '/a/1', { method: 'PATCH' }), '405 DELETE,GET,HEAD,POST,PUT');
    assert.equal(match(ix, '/a', { method: 'PATCH' }), '405 GET,HEAD,POST');
  });

  it('405 counts only routes whose headers and query matched', () => {
    const ix = index({ id: 'beta', path: '/a', methods: ['POST'], headers: [{ name: 'x-beta', type: 'present' }] }, { id: 'get', path: '/a', methods: ['GET'] });
    assert.equal(match(ix, '/a', { method: 'PUT' }), '405 GET,HEAD');
    assert.equal(match(ix, '/a', { method: 'PUT', headers: { 'x-beta': '1' } }), '405 GET,HEAD,POST');
  });

  it('a template with a malformed escape does not count towards 405', () => {
    const ix = index({ id: 'u', path: '/u/{id}', methods: ['GET'] });
    assert.equal(match(ix, '/u/%zz', { method: 'POST' }), '404');
    assert.equal(match(ix, '/u/ok', { method: 'POST' }), '405 GET,HEAD');
  });

  it('404 when no path matches', () => {
    const ix = index({ id: 'a', path: '/a', methods: ['GET'] });
    assert.equal(match(ix, '/b', { method: 'POST' }), '404');
    assert.equal(match(index(), '/'), '404');
  });
});

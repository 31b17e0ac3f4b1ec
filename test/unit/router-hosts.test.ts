// Host buckets: exact, wildcard (longest suffix first), any host, and fall-through between them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRouteIndex } from '../../proxy/router/route-index.ts';
import type { RouteIndex } from '../../proxy/router/route-index-types.ts';
import { request, route, type RouteSpec } from './router-fixture.ts';

function index(...specs: RouteSpec[]): RouteIndex {
  return buildRouteIndex(specs.map(route));
}

function match(ix: RouteIndex, host: string, path: string, method = 'GET'): string {
  const result = ix.match(request({ host, path, method }));
  if (result.kind === 'route') return result.route.id;
  if (result.kind === 'not-found') return '404';
  return `405 ${result.allow.join(',')}`;
}

describe('router: hosts', () => {
  it('exact hosts match only themselves', () => {
    const ix = index({ id: 'api', hosts: ['api.example.com'], path: '/*' });
    assert.equal(match(ix, 'api.example.com', '/x'), 'api');
    assert.equal(match(ix, 'www.example.com', '/x'), '404');
    assert.equal(match(ix, 'example.com', '/x'), '404');
  });

  it('a wildcard matches any depth of subdomain but not the bare domain', () => {
    const ix = index({ id: 'wild', hosts: ['*.example.com'], path: '/*' });
    assert.equal(match(ix, 'a.example.com', '/'), 'wild');
    assert.equal(match(ix, 'a.b.example.com', '/'), 'wild');
    assert.equal(match(ix, 'example.com', '/'), '404');
    assert.equal(match(ix, 'aexample.com', '/'), '404');
    assert.equal(match(ix, 'a.example.org', '/'), '404');
  });

  it('empty hosts (or "*") match any host', () => {
    const ix = index({ id: 'any', path: '/a' }, { id: 'star', hosts: ['*'], path: '/b' });
    assert.equal(match(ix, 'whatever.test', '/a'), 'any');
    assert.equal(match(ix, 'localhost', '/b'), 'star');
  });

  it('host names in the table are compared lower-case', () => {
    const ix = index({ id: 'api', hosts: ['API.Example.com'], path: '/*' });
    assert.equal(match(ix, 'api.example.com', '/'), 'api');
  });

  it('a route with several hosts is in each of their buckets', () => {
    const ix = index({ id: 'multi', hosts: ['a.test', '*.b.test', 'a.test'], path: '/x' });
    assert.equal(match(ix, 'a.test', '/x'), 'multi');
    assert.equal(match(ix, 'z.b.test', '/x'), 'multi');
    assert.equal(match(ix, 'c.test', '/x'), '404');
  });

  it('precedence: exact host, then longest wildcard, then any host — even against path precedence', () => {
    const ix = index(
      { id: 'any-exact', path: '/a/b' },
      { id: 'short-wild', hosts: ['*.example.com'], path: '/a/{x}' },
      { id: 'long-wild', hosts: ['*.b.example.com'], path: '/a*' },
      { id: 'exact-host', hosts: ['x.b.example.com'], path: '/*' },
    );
    assert.equal(match(ix, 'x.b.example.com', '/a/b'), 'exact-host');
    assert.equal(match(ix, 'y.b.example.com', '/a/b'), 'long-wild');
    assert.equal(match(ix, 'y.example.com', '/a/b'), 'short-wild');
    assert.equal(match(ix, 'other.test', '/a/b'), 'any-exact');
  });

  it('falls through to the next bucket when a more specific one has no full match', () => {
    const ix = index(
      { id: 'exact-host', hosts: ['api.example.com'], path: '/v1*' },
      { id: 'wild', hosts: ['*.example.com'], path: '/v2*' },
      { id: 'any', path: '/health' },
    );
    assert.equal(match(ix, 'api.example.com', '/v1/x'), 'exact-host');
    assert.equal(match(ix, 'api.example.com', '/v2/x'), 'wild');
    assert.equal(match(ix, 'api.example.com', '/health'), 'any');
    assert.equal(match(ix, 'api.example.com', '/v3'), '404');
  });

  it('falls through on method too, and 405 only when no bucket has a full match', () => {
    const ix = index({ id: 'exact-post', hosts: ['api.example.com'], path: '/x', methods: ['POST'] }, { id: 'any-get', path: '/x', methods: ['GET'] });
    assert.equal(match(ix, 'api.example.com', '/x', 'GET'), 'any-get');
    assert.equal(match(ix, 'api.example.com', '/x', 'POST'), 'exact-post');
    assert.equal(match(ix, 'api.example.com', '/x', 'PUT'), '405 GET,HEAD,POST');
    assert.equal(match(ix, 'other.test', '/x', 'PUT'), '405 GET,HEAD');
  });

  it('405 collects across the wildcard buckets tried', () => {
    const ix = index({ id: 'long', hosts: ['*.b.test'], path: '/x', methods: ['PUT'] }, { id: 'short', hosts: ['*.test'], path: '/x', methods: ['DELETE'] });
    assert.equal(match(ix, 'a.b.test', '/x', 'GET'), '405 DELETE,PUT');
    assert.equal(match(ix, 'a.c.test', '/x', 'GET'), '405 DELETE');
  });
});

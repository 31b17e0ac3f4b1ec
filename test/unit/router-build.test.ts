// buildRouteIndex is the last line of defence against a bad table: it throws naming the route.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRouteIndex } from '../../proxy/router/route-index.ts';
import { route, type RouteSpec } from './router-fixture.ts';

function buildError(spec: RouteSpec): RegExp {
  return new RegExp(`route ${spec.id}:`);
}

describe('router: build errors name the route', () => {
  const bad: [string, RouteSpec][] = [
    ['bad path regex', { id: 'ns/bad/r0/m0', path: { type: 'regex', value: '/a(' } }],
    ['bad header regex', { id: 'h', path: '/a', headers: [{ name: 'x', type: 'regex', value: '[' }] }],
    ['bad query regex', { id: 'q', path: '/a', query: [{ name: 'x', type: 'regex', value: '*' }] }],
    ['exact matcher without value', { id: 'v', path: '/a', headers: [{ name: 'x', type: 'exact' }] }],
    ['greedy not last', { id: 'g', path: '/a/{rest+}/b' }],
    ['greedy mixed with text', { id: 'gm', path: '/a/x{rest+}' }],
    ['two params in one segment', { id: 'two', path: '/a/{x}-{y}' }],
    ['unbalanced braces', { id: 'ub', path: { type: 'template', value: '/a/{x' } }],
    ['duplicate param', { id: 'dup', path: '/a/{x}/{x}' }],
    ['empty param name', { id: 'empty', path: '/a/{}' }],
    ['template without leading slash', { id: 'slash', path: { type: 'template', value: 'a/{x}' } }],
    ['prefix without leading slash', { id: 'pslash', path: { type: 'prefix', value: 'api' } }],
    ['odd wildcard host', { id: 'host', hosts: ['a.*.com'], path: '/a' }],
  ];
  for (const [what, spec] of bad) {
    it(what, () => {
      assert.throws(() => buildRouteIndex([route({ id: 'fine', path: '/ok' }), route(spec)]), buildError(spec));
    });
  }

  it('an empty table builds and matches nothing', () => {
    assert.deepEqual(buildRouteIndex([]).match({ host: 'a', method: 'GET', path: '/', query: '', headers: {} }), { kind: 'not-found' });
  });
});

// Header and query matchers, and the query-string scanner behind them.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { findQueryValue } from '../../proxy/router/query-lookup.ts';
import { buildRouteIndex } from '../../proxy/router/route-index.ts';
import type { TableValueMatch } from '../../proxy/table/table-schema.ts';
import { request, route } from './router-fixture.ts';

function hits(opts: { headers?: TableValueMatch[]; query?: TableValueMatch[] }, path: string, headers: IncomingHttpHeaders = {}): boolean {
  const ix = buildRouteIndex([route({ id: 'r', path: '/*', ...opts })]);
  return ix.match(request({ path, headers })).kind === 'route';
}

describe('router: header matchers', () => {
  it('exact compares the whole value', () => {
    const h: TableValueMatch[] = [{ name: 'x-env', type: 'exact', value: 'beta' }];
    assert.equal(hits({ headers: h }, '/', { 'x-env': 'beta' }), true);
    assert.equal(hits({ headers: h }, '/', { 'x-env': 'Beta' }), false);
    assert.equal(hits({ headers: h }, '/', { 'x-env': 'beta2' }), false);
    assert.equal(hits({ headers: h }, '/'), false);
  });

  it('regex is anchored', () => {
    const h: TableValueMatch[] = [{ name: 'x-ver', type: 'regex', value: 'v[12]' }];
    assert.equal(hits({ headers: h }, '/', { 'x-ver': 'v1' }), true);
    assert.equal(hits({ headers: h }, '/', { 'x-ver': 'v12' }), false);
    assert.equal(hits({ headers: h }, '/', { 'x-ver': 'xv1' }), false);
  });

  it('present needs the header, any value (even empty)', () => {
    const h: TableValueMatch[] = [{ name: 'x-a', type: 'present' }];
    assert.equal(hits({ headers: h }, '/', { 'x-a': '' }), true);
    assert.equal(hits({ headers: h }, '/', { 'x-b': '1' }), false);
  });

  it('repeated values are joined with ", "', () => {
    const h: TableValueMatch[] = [{ name: 'set-cookie', type: 'exact', value: 'a=1, b=2' }];
    assert.equal(hits({ headers: h }, '/', { 'set-cookie': ['a=1', 'b=2'] }), true);
  });

  it('names from the table are lower-cased; every matcher must match', () => {
    const h: TableValueMatch[] = [
      { name: 'X-One', type: 'exact', value: '1' },
      { name: 'x-two', type: 'present' },
    ];
    assert.equal(hits({ headers: h }, '/', { 'x-one': '1', 'x-two': '' }), true);
    assert.equal(hits({ headers: h }, '/', { 'x-one': '1' }), false);
  });
});

describe('router: query matchers', () => {
  it('exact, regex and present', () => {
    assert.equal(hits({ query: [{ name: 'v', type: 'exact', value: '2' }] }, '/?a=1&v=2'), true);
    assert.equal(hits({ query: [{ name: 'v', type: 'exact', value: '2' }] }, '/?v=22'), false);
    assert.equal(hits({ query: [{ name: 'v', type: 'regex', value: '\\d+' }] }, '/?v=123'), true);
    assert.equal(hits({ query: [{ name: 'v', type: 'regex', value: '\\d+' }] }, '/?v=1a'), false);
    assert.equal(hits({ query: [{ name: 'debug', type: 'present' }] }, '/?debug'), true);
    assert.equal(hits({ query: [{ name: 'debug', type: 'present' }] }, '/?debug='), true);
    assert.equal(hits({ query: [{ name: 'debug', type: 'present' }] }, '/?debugx=1'), false);
    assert.equal(hits({ query: [{ name: 'debug', type: 'present' }] }, '/'), false);
  });

  it('decodes + and %XX in names and values', () => {
    assert.equal(hits({ query: [{ name: 'q', type: 'exact', value: 'a b/c' }] }, '/?q=a+b%2Fc'), true);
    assert.equal(hits({ query: [{ name: 'my key', type: 'present' }] }, '/?my%20key=1'), true);
  });
});

describe('findQueryValue', () => {
  it('finds the first value of a name', () => {
    assert.equal(findQueryValue('a=1&b=2&a=3', 'a'), '1');
    assert.equal(findQueryValue('a=1&b=2', 'b'), '2');
    assert.equal(findQueryValue('a=1&b=2', 'c'), undefined);
    assert.equal(findQueryValue('', 'a'), undefined);
  });

  it('a bare key or empty value is ""; empty pairs are skipped', () => {
    assert.equal(findQueryValue('flag&x=1', 'flag'), '');
    assert.equal(findQueryValue('x=', 'x'), '');
    assert.equal(findQueryValue('&&x=1&', 'x'), '1');
  });

  it('only the first "=" splits key and value', () => {
    assert.equal(findQueryValue('x=a=b', 'x'), 'a=b');
  });

  it('keeps a malformed escape literally', () => {
    assert.equal(findQueryValue('x=%zz+1', 'x'), '%zz 1');
  });

  it('does not treat an encoded "=" or "&" as a separator', () => {
    assert.equal(findQueryValue('x=a%26b%3Dc', 'x'), 'a&b=c');
    assert.equal(findQueryValue('a%3Db=1', 'a=b'), '1');
  });
});

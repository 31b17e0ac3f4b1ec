// Parsed routes share what most of them hold the same (proxy/table/shared-route-parts.ts): empty lists and header changes,
// and timeouts, retries and backend ids equal to the previous route's. Shared values are frozen (a write throws
// instead of changing every route), and the table reads and serializes exactly as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routingTableSchema } from '../../proxy/table/table-schema.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';

test('parsed routes share empty lists, empty header changes and equal hosts, timeouts, retries and backend ids', () => {
  const source = table(
    [
      route('a', '/a', ['be'], { hosts: ['x.example.com'] }),
      route('b', '/b', ['be'], { hosts: ['x.example.com'] }),
      route('c', '/c', ['be'], { methods: ['GET'], requestHeaders: { set: [['x-a', '1']], add: [], remove: [] }, timeouts: { connectMs: 1, requestMs: 2, idleMs: 3 }, retries: { attempts: 0 } }),
    ],
    [backend('be', [9])],
    'v1',
  );
  const json = JSON.stringify(source);
  const parsed = routingTableSchema.parse(JSON.parse(json));
  const [a, b, c] = parsed.routes;
  assert.ok(a && b && c);
  assert.equal(a.methods, b.methods);
  assert.equal(a.headers, b.query);
  assert.equal(a.requestHeaders, b.responseHeaders);
  assert.ok(Object.isFrozen(a.methods) && Object.isFrozen(a.requestHeaders));
  assert.throws(() => (a.methods as string[]).push('GET'), TypeError);
  assert.equal(a.hosts, b.hosts);
  assert.equal(c.hosts.length, 0);
  assert.equal(a.timeouts, b.timeouts);
  assert.equal(a.retries, b.retries);
  assert.ok(Object.isFrozen(a.timeouts));
  // Different values are kept as they are.
  assert.notEqual(c.methods, a.methods);
  assert.deepEqual(c.requestHeaders.set, [['x-a', '1']]);
  assert.notEqual(c.timeouts, a.timeouts);
  assert.deepEqual(c.timeouts, { connectMs: 1, requestMs: 2, idleMs: 3 });
  assert.equal(c.retries.attempts, 0);
  assert.equal(JSON.stringify(parsed), json);
});

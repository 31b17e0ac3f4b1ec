// A table's JSON comes in slices (the controller's /debug/table); joined, it must be JSON.stringify(table) byte for
// byte, whatever the slice size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tableJsonChunks } from '../../proxy/table/table-json.ts';
import { routingTableSchema } from '../../proxy/table/table-schema.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';

const t = routingTableSchema.parse(
  table(
    Array.from({ length: 10 }, (_, i) => route(`r${i}`, `/r${i}`, ['be'], { hosts: [`h${i}.example.com`], requestHeaders: { set: [['x-q', 'a "quoted" \u2028 value']], add: [], remove: [] } })),
    [backend('be', [1, 2]), backend('be2', [3])],
    'v"1',
  ),
);

test('joined slices are JSON.stringify(table) for any slice size, empty lists included', () => {
  const joined = (chunks: Iterable<Buffer[]>): string => Buffer.concat([...chunks].flat()).toString('utf8');
  for (const size of [1, 3, 10, 11, 256]) assert.equal(joined(tableJsonChunks(t, size)), JSON.stringify(t), `slice size ${size}`);
  assert.equal(joined(tableJsonChunks(t, 3, (item) => Buffer.from(JSON.stringify(item)))), JSON.stringify(t), 'items serialised by the caller');
  const empty = routingTableSchema.parse(table([], [], 'empty'));
  assert.equal(joined(tableJsonChunks(empty)), JSON.stringify(empty));
});

test('a slice holds at most the given number of items', () => {
  const chunks = [...tableJsonChunks(t, 4)];
  assert.equal(chunks.length, 3, `${chunks.length} slices`); // 4 + 4 + (2 routes and the backends)
  for (const c of chunks) {
    assert.ok((Buffer.concat(c).toString().match(/"id":"r\d"/g) ?? []).length <= 4);
    // Items and their commas, plus one text piece per list boundary (routes, backends, authorizers, rate policies,
    // certificates, TLS hosts, end).
    assert.ok(c.length <= 2 * 4 + 6, `${c.length} buffers in one writev`);
  }
});

// Which V8 heap flags `gatehouse controller` re-executes itself with: its own unless the user chose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROLLER_HEAP_GROWING_PERCENT, CONTROLLER_SEMI_SPACE_MB, missingHeapFlags, missingProxyHeapFlags, PROXY_SEMI_SPACE_MB } from '../../cli/commands/controller-heap-flags.ts';

const ours = [`--max-semi-space-size=${CONTROLLER_SEMI_SPACE_MB}`, `--heap-growing-percent=${CONTROLLER_HEAP_GROWING_PERCENT}`];

test('no user choice: both flags', () => {
  assert.deepEqual(missingHeapFlags([], undefined), ours);
  assert.deepEqual(missingHeapFlags(['--enable-source-maps'], '--max-old-space-size=512'), ours, 'an old-space cap is not a young-generation or growth choice');
});

test('a flag the user set, on the command line or in NODE_OPTIONS, with - or _, is left to them', () => {
  assert.deepEqual(missingHeapFlags(['--max-semi-space-size=16'], undefined), [ours[1]]);
  assert.deepEqual(missingHeapFlags([], '--max_semi_space_size=32'), [ours[1]]);
  assert.deepEqual(missingHeapFlags([], '  --max-heap-size=1024  '), [ours[1]], '--max-heap-size sizes the young generation too');
  assert.deepEqual(missingHeapFlags(['--heap-growing-percent=50'], undefined), [ours[0]]);
  assert.deepEqual(missingHeapFlags(['--heap_growing_percent=50', '--max-semi-space-size', '4'], undefined), []);
});

test('the proxy gets its own young-generation size, under the same rules, and keeps V8\'s own old-generation growth', () => {
  assert.deepEqual(missingProxyHeapFlags([], undefined), [`--max-semi-space-size=${PROXY_SEMI_SPACE_MB}`]);
  assert.deepEqual(missingProxyHeapFlags([], '--max-semi-space-size=16'), []);
});

// Recognising the watch echo of the controller's own status writes (and nothing else).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OwnStatusWrites } from '../../controller/status/own-status-writes.ts';

test('the version our write produced is an echo once; any other version is not', () => {
  let now = 0;
  const own = new OwnStatusWrites(() => now);
  own.record('ApiRoute/default/a', '100');
  assert.equal(own.isEcho('ApiRoute/default/a', '99'), false, 'an older version (the event before ours)');
  assert.equal(own.isEcho('ApiRoute/default/a', '101'), false, 'someone wrote after us');
  assert.equal(own.isEcho('ApiRoute/default/b', '100'), false, 'another resource');
  assert.equal(own.isEcho('ApiRoute/default/a', undefined), false, 'no version known');
  assert.equal(own.isEcho('ApiRoute/default/a', '100'), true);
  assert.equal(own.isEcho('ApiRoute/default/a', '100'), false, 'consumed: a second event with it is re-checked');

  own.record('ApiRoute/default/c', '200');
  own.record('ApiRoute/default/c', '201');
  assert.equal(own.isEcho('ApiRoute/default/c', '200'), false, 'only the latest write counts');
  now = 29_000;
  own.forgetOld();
  assert.equal(own.size, 1);
  now = 31_000;
  own.forgetOld();
  assert.equal(own.size, 0, 'an echo that never came is forgotten');
});

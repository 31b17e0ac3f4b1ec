// A fleet change hands the status writer only the resources whose Programmed condition moved, not every resource.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResourceStatus } from '../../controller/compile/compile-types.ts';
import { ProgrammedConditions, type ServingProxy } from '../../controller/distribute/programmed-conditions.ts';

const status = (name: string, generation: number): ResourceStatus => ({ kind: 'ApiRoute', namespace: 'default', name, generation, conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok' }] });
const proxy = (name: string, version: string | null, lastError: ServingProxy['lastError'] = null): ServingProxy => ({ name, version, lastError });
const programmedOf = (s: ResourceStatus | undefined): string | undefined => s?.conditions.find((c) => c.type === 'Programmed')?.message;

test('changedProgrammed returns only the statuses whose Programmed condition differs from the last handed out', () => {
  const pc = new ProgrammedConditions();
  const v1 = Array.from({ length: 100 }, (_, i) => status(`r${i}`, 1));
  pc.noteCompile(v1, 'v1', 1);
  const before = pc.withProgrammed(v1, [proxy('a', 'v1'), proxy('b', 'v1')]);
  assert.equal(programmedOf(before[0]), '2/2 proxies serve generation 1');
  // Nothing moved: nothing to write.
  assert.deepEqual(pc.changedProgrammed(v1, [proxy('a', 'v1'), proxy('b', 'v1')]), []);

  // r7 gets generation 2 in v2; one proxy has it, the other not yet: only r7's condition moves.
  const v2 = v1.map((s) => (s.name === 'r7' ? status('r7', 2) : s));
  pc.noteCompile(v2, 'v2', 2);
  const fresh = pc.withProgrammed([v2[7] as ResourceStatus], [proxy('a', 'v2'), proxy('b', 'v1')]);
  assert.equal(programmedOf(fresh[0]), '1/2 proxies serve generation 2');
  const acked = pc.changedProgrammed(v2, [proxy('a', 'v2'), proxy('b', 'v2')]);
  assert.deepEqual(acked.map((s) => s.name), ['r7']);
  assert.equal(programmedOf(acked[0]), '2/2 proxies serve generation 2');

  // A third proxy joins on the old version: every resource's count moves (3 proxies now).
  const joined = pc.changedProgrammed(v2, [proxy('a', 'v2'), proxy('b', 'v2'), proxy('c', 'v1')]);
  assert.equal(joined.length, 100);
  assert.equal(programmedOf(joined.find((s) => s.name === 'r7')), '2/3 proxies serve generation 2');
  assert.equal(programmedOf(joined.find((s) => s.name === 'r0')), '3/3 proxies serve generation 1');
});

test('a resource that left and came back is handed out again', () => {
  const pc = new ProgrammedConditions();
  const fleet = [proxy('a', 'v1')];
  pc.noteCompile([status('r', 1)], 'v1', 1);
  pc.withProgrammed([status('r', 1)], fleet);
  pc.noteCompile([], 'v0', 2);
  pc.noteCompile([status('r', 1)], 'v1', 3);
  assert.equal(pc.changedProgrammed([status('r', 1)], fleet).length, 1);
});

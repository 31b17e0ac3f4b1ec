// The status writer's pure half: desired status, kept transition times, unowned conditions, and when to patch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition } from '../../crds/schemas/index.ts';
import type { ResourceStatus } from '../../controller/compile/compile-types.ts';
import { conditionTime, deepEqual, planStatus } from '../../controller/status/status-diff.ts';

const T0 = new Date('2026-01-01T10:00:00.000Z');
const T1 = new Date('2026-01-01T10:05:00.750Z');

function compiled(conditions: Condition[], generation = 2): ResourceStatus {
  return { kind: 'ApiRoute', namespace: 'default', name: 'r', generation, conditions };
}

const accepted: Condition = { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Spec is valid' };
const resolved: Condition = { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'All references resolved' };
const rejected: Condition = { type: 'Accepted', status: 'False', reason: 'Invalid', message: 'spec.rules[0].path: bad; not served' };

/** What the API server holds after the writer applied a plan. */
function applied(plan: ReturnType<typeof planStatus>): { generation: number; status: unknown } {
  return { generation: plan.desired.observedGeneration ?? 0, status: structuredClone(plan.desired) };
}

test('condition times are RFC 3339 with whole seconds', () => {
  assert.equal(conditionTime(T1), '2026-01-01T10:05:00Z');
});

test('a first write stamps every condition with the generation and the time', () => {
  const plan = planStatus(compiled([accepted, resolved]), { generation: 2 }, T0);
  assert.equal(plan.changed, true);
  assert.deepEqual(plan.desired, {
    observedGeneration: 2,
    conditions: [
      { ...accepted, observedGeneration: 2, lastTransitionTime: '2026-01-01T10:00:00Z' },
      { ...resolved, observedGeneration: 2, lastTransitionTime: '2026-01-01T10:00:00Z' },
    ],
  });
  assert.deepEqual(plan.rejections, []);
});

test('recompiling the same thing later changes nothing: times are kept, no patch', () => {
  const live = applied(planStatus(compiled([accepted, resolved]), { generation: 2 }, T0));
  const again = planStatus(compiled([accepted, resolved]), live, T1);
  assert.equal(again.changed, false);
  assert.deepEqual(again.desired, live.status);
});

test('condition order and key order on the live object do not count as a change', () => {
  const plan = planStatus(compiled([accepted, resolved]), { generation: 2 }, T0);
  const reordered = {
    generation: 2,
    status: {
      conditions: [...plan.desired.conditions].reverse().map((c) => Object.fromEntries(Object.entries(c).reverse())),
      observedGeneration: 2,
    },
  };
  assert.equal(planStatus(compiled([accepted, resolved]), reordered, T1).changed, false);
});

test('a transition gets a new time only on the condition that transitioned', () => {
  const live = applied(planStatus(compiled([accepted, resolved]), { generation: 2 }, T0));
  const plan = planStatus(compiled([rejected, resolved], 3), live, T1);
  assert.equal(plan.changed, true);
  const [acc, refs] = plan.desired.conditions;
  assert.equal(acc?.lastTransitionTime, '2026-01-01T10:05:00Z');
  assert.equal(refs?.lastTransitionTime, '2026-01-01T10:00:00Z');
  assert.equal(refs?.observedGeneration, 3, 'an unchanged condition still reports the new generation');
  assert.equal(plan.desired.observedGeneration, 3);
});

test('a new message with the same status keeps the time but is written', () => {
  const live = applied(planStatus(compiled([rejected, resolved]), { generation: 2 }, T0));
  const other = { ...rejected, message: 'spec.hosts[0]: bad; not served' };
  const plan = planStatus(compiled([other, resolved]), live, T1);
  assert.equal(plan.changed, true);
  assert.equal(plan.desired.conditions[0]?.lastTransitionTime, '2026-01-01T10:00:00Z');
  assert.equal(plan.desired.conditions[0]?.message, other.message);
});

test('a new generation alone is a change (observedGeneration moves)', () => {
  const live = applied(planStatus(compiled([accepted, resolved], 2), { generation: 2 }, T0));
  assert.equal(planStatus(compiled([accepted, resolved], 3), live, T1).changed, true);
});

test('condition types the compiler does not own are kept verbatim, extra fields and all', () => {
  const programmed = { type: 'Programmed', status: 'True', reason: 'Programmed', message: '3/3 proxies', lastTransitionTime: '2025-12-31T00:00:00Z', observedGeneration: 1, extra: { proxies: 3 } };
  const live = { generation: 2, status: { observedGeneration: 1, conditions: [programmed] } };
  const plan = planStatus(compiled([accepted, resolved]), live, T0);
  assert.deepEqual(plan.desired.conditions.map((c) => c.type), ['Accepted', 'Programmed', 'ResolvedRefs']);
  assert.deepEqual(plan.desired.conditions[1], programmed);
  const after = applied(plan);
  assert.equal(planStatus(compiled([accepted, resolved]), after, T1).changed, false);
});

test('an owned condition the compile no longer reports (a resolved conflict) is removed', () => {
  const conflicted: Condition = { type: 'Conflicted', status: 'True', reason: 'RouteConflict', message: 'GET /a is served by ApiRoute default/x' };
  const live = applied(planStatus(compiled([accepted, conflicted, resolved]), { generation: 2 }, T0));
  const plan = planStatus(compiled([accepted, resolved]), live, T1);
  assert.equal(plan.changed, true);
  assert.deepEqual(plan.desired.conditions.map((c) => c.type), ['Accepted', 'ResolvedRefs']);
});

test('duplicate condition types on the live object are rewritten as one list', () => {
  const plan = planStatus(compiled([accepted, resolved]), { generation: 2 }, T0);
  const dup = structuredClone(plan.desired);
  dup.conditions.push(structuredClone(plan.desired.conditions[0]!));
  assert.equal(planStatus(compiled([accepted, resolved]), { generation: 2, status: dup }, T1).changed, true);
});

test('a garbage live status is treated as empty, never thrown on', () => {
  for (const status of [null, 'x', 42, { conditions: 'no' }, { conditions: [null, 1, { status: 'True' }] }]) {
    const plan = planStatus(compiled([accepted, resolved]), { generation: 2, status }, T0);
    assert.equal(plan.changed, true);
    assert.equal(plan.desired.conditions.length, 2);
  }
});

test('without a generation anywhere, observedGeneration is left out', () => {
  const plan = planStatus({ ...compiled([accepted]), generation: undefined }, undefined, T0);
  assert.equal('observedGeneration' in plan.desired, false);
  assert.equal('observedGeneration' in plan.desired.conditions[0]!, false);
});

test('rejections: reported when a problem appears or its message changes, not when it persists', () => {
  const first = planStatus(compiled([rejected, resolved]), { generation: 2 }, T0);
  assert.deepEqual(first.rejections, [{ type: 'Accepted', reason: 'Invalid', message: rejected.message }]);
  const live = applied(first);
  assert.deepEqual(planStatus(compiled([rejected, resolved]), live, T1).rejections, []);
  const newMessage = { ...rejected, message: 'spec.hosts[0]: bad; not served' };
  assert.equal(planStatus(compiled([newMessage, resolved]), live, T1).rejections.length, 1);
  const refsFailed: Condition = { type: 'ResolvedRefs', status: 'False', reason: 'BackendNotFound', message: 'Service default/x not found' };
  assert.deepEqual(planStatus(compiled([accepted, refsFailed]), applied(planStatus(compiled([accepted, resolved]), undefined, T0)), T1).rejections.map((r) => r.type), ['ResolvedRefs']);
});

test('deepEqual ignores key order and undefined-valued keys', () => {
  assert.equal(deepEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }), true);
  assert.equal(deepEqual({ a: 1, u: undefined }, { a: 1 }), true);
  assert.equal(deepEqual({ a: [1] }, { a: { 0: 1 } }), false);
  assert.equal(deepEqual([1, 2], [2, 1]), false);
});

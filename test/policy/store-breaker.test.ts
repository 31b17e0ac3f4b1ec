// The Redis circuit breaker and the decisions' shared deadlines, on injected clocks (no waiting). A frozen Redis
// (SIGSTOP) end to end is in test/policy/redis-limit-store.test.ts and test/e2e/rate-limits-fleet.test.ts.
import { strict as assert } from 'node:assert';
import { mock, test } from 'node:test';
import { pino } from 'pino';
import { CommandDeadlines } from '../../proxy/policy/rate-limit/command-deadlines.ts';
import { StoreBreaker } from '../../proxy/policy/rate-limit/store-breaker.ts';

const quiet = pino({ level: 'silent' });

test('the breaker opens after 3 failures in a row, lets one probe through after openMs, and closes on its success', () => {
  let now = 1_000;
  const breaker = new StoreBreaker({ threshold: 3, openMs: 1_000, clock: () => now, logger: quiet });
  assert.ok(breaker.allows());
  breaker.settled(false);
  breaker.settled(false);
  breaker.settled(true); // a success in between resets the count
  breaker.settled(false);
  breaker.settled(false);
  assert.ok(breaker.allows() && !breaker.open, 'two failures in a row: still closed');
  breaker.settled(false);
  assert.ok(breaker.open, 'the third in a row opens it');
  assert.equal(breaker.allows(), false);
  now += 999;
  assert.equal(breaker.allows(), false, 'still open just before openMs');
  now += 1;
  assert.equal(breaker.allows(), true, 'one probe after openMs');
  assert.equal(breaker.allows(), false, 'and only one while it is out');
  breaker.settled(true);
  assert.ok(!breaker.open);
  assert.ok(breaker.allows() && breaker.allows(), 'closed: every decision goes to Redis');
});

test('a failed probe opens the breaker again for another openMs', () => {
  let now = 0;
  const breaker = new StoreBreaker({ threshold: 1, openMs: 500, clock: () => now, logger: quiet });
  breaker.settled(false);
  assert.equal(breaker.allows(), false);
  now = 500;
  assert.equal(breaker.allows(), true);
  breaker.settled(false);
  assert.equal(breaker.allows(), false, 'reopened');
  now = 999;
  assert.equal(breaker.allows(), false);
  now = 1_000;
  assert.equal(breaker.allows(), true, 'the next probe');
});

test('deadlines: an unanswered command times out once, between timeoutMs and timeoutMs + one sweep; answered ones never do', (t) => {
  mock.timers.enable({ apis: ['setInterval'] });
  t.after(() => mock.timers.reset());
  let now = 0;
  const deadlines = new CommandDeadlines(100, () => now);
  t.after(() => deadlines.close());
  const timedOut: string[] = [];
  const a = deadlines.start(() => timedOut.push('a'));
  now = 5;
  const b = deadlines.start(() => timedOut.push('b'));
  b.settled = true; // answered
  now = 30;
  deadlines.start(() => timedOut.push('c'));
  assert.equal(deadlines.pending, 3);
  for (now = 10; now < 100; now += 10) mock.timers.tick(10);
  assert.deepEqual(timedOut, [], 'nothing before 100 ms');
  now = 110;
  mock.timers.tick(10);
  assert.deepEqual(timedOut, ['a'], 'a at its deadline; b was answered');
  assert.ok(a.settled);
  now = 140;
  mock.timers.tick(10);
  assert.deepEqual(timedOut, ['a', 'c']);
  mock.timers.tick(10);
  assert.deepEqual(timedOut, ['a', 'c'], 'each once');
  assert.equal(deadlines.pending, 0, 'the queue is empty (and the sweep stopped)');
});

// The Redis circuit breaker, on an injected clock (no waiting). A frozen Redis
// (SIGSTOP) end to end is in test/policy/redis-limit-store.test.ts and test/e2e/rate-limits-fleet.test.ts.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { pino } from 'pino';
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

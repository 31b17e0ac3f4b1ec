// Bursts of changes become few runs: quiet period, maximum delay, no overlapping runs, nothing lost.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BurstCoalescer } from '../../controller/sources/burst-coalescer.ts';

test('1,000 changes in a row run a handful of times, and the last run sees the last change', async () => {
  let runs = 0;
  let seen = 0;
  let changes = 0;
  const c = new BurstCoalescer({ quietMs: 20, maxDelayMs: 100, run: () => void (runs++, (seen = changes)) });
  for (let i = 0; i < 1000; i++) {
    changes++;
    c.poke();
    if (i % 100 === 0) await sleep(1);
  }
  await sleep(150);
  c.close();
  assert.ok(runs >= 1 && runs <= 5, `expected a handful of runs, got ${runs}`);
  assert.equal(seen, 1000);
});

test('a steady stream still runs within the maximum delay', async () => {
  const runsAt: number[] = [];
  const start = Date.now();
  const c = new BurstCoalescer({ quietMs: 30, maxDelayMs: 80, run: () => void runsAt.push(Date.now() - start) });
  while (Date.now() - start < 300) {
    c.poke();
    await sleep(5);
  }
  c.close();
  assert.ok(runsAt.length >= 2, `expected runs during the stream, got ${runsAt.length}`);
  assert.ok((runsAt[0] ?? Infinity) < 200, `first run at ${runsAt[0]} ms`);
});

test('runs never overlap; a change during a run causes exactly one more run', async () => {
  let active = 0;
  let maxActive = 0;
  let runs = 0;
  const c = new BurstCoalescer({
    quietMs: 5,
    maxDelayMs: 20,
    run: async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      await sleep(40);
      active--;
    },
  });
  c.poke();
  await sleep(15); // first run in progress
  for (let i = 0; i < 10; i++) c.poke();
  await sleep(150);
  c.close();
  assert.equal(maxActive, 1);
  assert.equal(runs, 2);
});

test('a failing run is reported and does not stop later runs', async () => {
  const errors: unknown[] = [];
  let runs = 0;
  const c = new BurstCoalescer({
    quietMs: 5,
    maxDelayMs: 10,
    run: () => {
      runs++;
      if (runs === 1) throw new Error('boom');
    },
    onError: (e) => errors.push(e),
  });
  c.poke();
  await sleep(30);
  c.poke();
  await sleep(30);
  c.close();
  assert.equal(runs, 2);
  assert.equal(errors.length, 1);
});

test('during a long stream the maximum delay grows up to its cap; a quiet period resets it', async () => {
  const runsAt: number[] = [];
  const start = Date.now();
  const c = new BurstCoalescer({ quietMs: 20, maxDelayMs: 40, maxDelayCapMs: 320, run: () => void runsAt.push(Date.now() - start) });
  while (Date.now() - start < 1500) {
    c.poke();
    await sleep(5);
  }
  const streamRuns = runsAt.length;
  // 40 + 80 + 160 + 320 + 320 + … ms: about 7 runs in 1.5 s instead of ~37 at a fixed 40 ms.
  assert.ok(streamRuns >= 3 && streamRuns <= 10, `runs during the stream: ${streamRuns} at ${runsAt.join(', ')}`);
  const gaps = runsAt.slice(1).map((t, i) => t - (runsAt[i] ?? 0));
  assert.ok((gaps.at(-1) ?? 0) > (gaps[0] ?? 0), `gaps grow: ${gaps.join(', ')}`);
  await sleep(60); // quiet: the stream's last changes run, and the next burst starts from the short delay again
  const quietStart = Date.now();
  c.poke();
  await sleep(50);
  c.close();
  assert.ok((runsAt.at(-1) ?? 0) >= quietStart - start, 'a lone change after a quiet period runs within quietMs');
});

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
  while (Date.now() - start < 600) {
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

test('during a mass change the delays grow up to their cap; lone changes keep the short delays', async () => {
  const runsAt: number[] = [];
  const start = Date.now();
  const c = new BurstCoalescer({ quietMs: 20, maxDelayMs: 40, maxDelayCapMs: 320, run: () => void runsAt.push(Date.now() - start) });
  // An uneven stream: bursts of changes with gaps longer than the quiet period in between.
  for (let burst = 0; Date.now() - start < 1500; burst++) {
    for (let i = 0; i < 10; i++) {
      c.poke();
      await sleep(3);
    }
    await sleep(burst % 3 === 0 ? 30 : 5);
  }
  const streamRuns = runsAt.length;
  // Without growth the 30 ms gaps alone would make ~15 runs, the 40 ms maximum ~37.
  assert.ok(streamRuns >= 3 && streamRuns <= 10, `runs during the stream: ${streamRuns} at ${runsAt.join(', ')}`);
  await sleep(800); // idle for longer than the capped delay: the last changes run, and the streak ends
  const lone = Date.now();
  c.poke();
  await sleep(35);
  c.close();
  assert.ok((runsAt.at(-1) ?? 0) >= lone - start, `a lone change after an idle gap runs within the short quiet period (${runsAt.join(', ')})`);
});

test('single changes spaced a little apart each run after the short quiet period', async () => {
  const delays: number[] = [];
  let pokedAt = 0;
  const c = new BurstCoalescer({ quietMs: 20, maxDelayMs: 40, maxDelayCapMs: 320, run: () => void delays.push(Date.now() - pokedAt) });
  for (let i = 0; i < 10; i++) {
    pokedAt = Date.now();
    c.poke();
    await sleep(45);
  }
  c.close();
  assert.equal(delays.length, 10);
  // ~20 ms each (plus timer lateness on a busy machine); a grown quiet period would be 160 ms or more.
  assert.ok(delays.every((d) => d < 150), `delays: ${delays.join(', ')}`);
});

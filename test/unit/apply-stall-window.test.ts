// The apply-stall window reports the longest event-loop stall from begin() until the change is settled (the table
// file written), including the last synchronous stretch right before it closes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplyStallWindow } from '../../proxy/subscribe/apply-stall-window.ts';
import { waitFor } from '../support/wait-for.ts';

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

function reported(): { window: ApplyStallWindow; next: Promise<number[]>; cpuMs: number[]; whole: boolean[] } {
  const seen: number[] = [];
  const cpuMs: number[] = [];
  const whole: boolean[] = [];
  let done: (v: number[]) => void = () => {};
  const next = new Promise<number[]>((resolve) => (done = resolve));
  const window = new ApplyStallWindow((s, cpu, w) => {
    seen.push(s * 1000);
    cpuMs.push(cpu * 1000);
    whole.push(w);
    done(seen);
  });
  return { window, next, cpuMs, whole };
}

test('a stall right before end() is reported, with the CPU time the window used', async () => {
  const { window, next, cpuMs } = reported();
  window.begin();
  await new Promise((r) => setTimeout(r, 5));
  block(40);
  window.end();
  const [ms] = await next;
  assert.ok(ms !== undefined && ms >= 35 && ms < 200, `reported ${ms} ms`);
  // Busy-waiting 40 ms is 40 ms of CPU (less only if the machine took the CPU away meanwhile).
  assert.ok((cpuMs[0] as number) >= 20 && (cpuMs[0] as number) < 200, `cpu ${cpuMs[0]} ms`);
});

test('the window lasts until the table file write settles, and overlapping changes share it', async () => {
  const { window, next } = reported();
  let persisted: () => void = () => {};
  const writing = new Promise<void>((resolve) => (persisted = resolve));
  window.begin();
  window.begin();
  window.end(writing);
  await new Promise((r) => setTimeout(r, 20));
  window.end();
  // Both changes ended, but the first one's file is still being written: a stall now still counts.
  block(60);
  await new Promise((r) => setTimeout(r, 20));
  persisted();
  const seen = await next;
  assert.equal(seen.length, 1);
  assert.ok((seen[0] as number) >= 55, `reported ${seen[0]} ms`);
});

test('a change without a stall reports a small delay', async () => {
  const { window, next } = reported();
  window.begin();
  window.end();
  const [ms] = await next;
  assert.ok(ms !== undefined && ms < 30, `reported ${ms} ms`);
});

test('work that starts at once, before the loop turns, is counted (the histogram alone misses it)', async () => {
  const { window, next } = reported();
  window.begin();
  block(60);
  await new Promise((r) => setTimeout(r, 5));
  window.end();
  const [ms] = await next;
  assert.ok(ms !== undefined && ms >= 55 && ms < 300, `reported ${ms} ms`);
});

test('a window that held a whole table says so; the next window starts without it', async () => {
  const { window, whole } = reported();
  window.begin();
  window.markWhole();
  window.end();
  await waitFor('the first window', () => (whole.length === 1 ? true : undefined), 5_000, 5);
  window.begin();
  window.end();
  await waitFor('the second window', () => (whole.length === 2 ? true : undefined), 5_000, 5);
  assert.deepEqual(whole, [true, false]);
});

// The order and timing of the shutdown phases (proxy/server/graceful-shutdown.ts) under node:test's mock timers:
// readiness fails first; the listener closes only when the delay is over; the release waits for the drain, or for
// the deadline and the cut; each phase is logged with its duration. The steps record what the phases do to them;
// what a real gateway does in each phase is test/e2e/graceful-shutdown.test.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { pino, type Logger } from 'pino';
import { gracefulShutdown, type ShutdownSteps } from '../../proxy/server/graceful-shutdown.ts';

interface Recorded {
  steps: ShutdownSteps;
  /** `step@ms` in call order, ms on the mocked clock since the start. */
  calls: string[];
  /** Ends the drain (every connection closed). */
  drain: () => void;
  logger: Logger;
  /** The lines logged, parsed. */
  lines: () => Array<{ phase?: string; msg: string; level: number } & Record<string, unknown>>;
}

function recorded(t: TestContext, opts: { open?: number; upgraded?: boolean } = {}): Recorded {
  const start = Date.now();
  const calls: string[] = [];
  const at = (step: string): void => void calls.push(`${step}@${Date.now() - start}`);
  let drain = (): void => {};
  const drained = new Promise<void>((resolve) => (drain = resolve));
  const raw: string[] = [];
  const steps: ShutdownSteps = {
    failReadiness: (reason) => at(`failReadiness(${reason})`),
    stopAccepting: async () => {
      at('stopAccepting');
      return { open: opts.open ?? 2, drained };
    },
    ...(opts.upgraded && {
      closeUpgraded: async () => {
        at('closeUpgraded');
        return 1;
      },
    }),
    cutConnections: async () => {
      at('cutConnections');
      return opts.open ?? 2;
    },
    release: async () => at('release'),
  };
  t.after(() => drain());
  return {
    steps,
    calls,
    drain,
    logger: pino({ level: 'info' }, { write: (line: string) => void raw.push(line) }),
    lines: () => raw.map((l) => JSON.parse(l) as ReturnType<Recorded['lines']>[number]),
  };
}

/** Lets the shutdown's promise chain run up to its next timer. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

test('phases in order: unready at once, the listener closed after the delay, release once drained', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const r = recorded(t);
  const done = gracefulShutdown(r.steps, { delayMs: 5_000, timeoutMs: 25_000 }, 'shutting down (SIGTERM)', r.logger);
  await settle();
  assert.deepEqual(r.calls, ['failReadiness(shutting down (SIGTERM))@0']);

  t.mock.timers.tick(4_999);
  await settle();
  assert.deepEqual(r.calls, ['failReadiness(shutting down (SIGTERM))@0'], 'still serving during the delay');

  t.mock.timers.tick(1);
  await settle();
  assert.deepEqual(r.calls.slice(1), ['stopAccepting@5000']);

  t.mock.timers.tick(1_500);
  r.drain();
  await settle();
  assert.deepEqual(r.calls.slice(1), ['stopAccepting@5000', 'release@6500'], 'released when drained, nothing cut');
  const report = await done;
  assert.deepEqual(report, { cut: 0, delayMs: 5_000, drainMs: 1_500, releaseMs: 0, totalMs: 6_500 });

  const lines = r.lines();
  assert.deepEqual(lines.map((l) => l.phase), ['unready', 'drain', 'drained', 'done']);
  assert.ok(lines.every((l) => l.level === 30), 'all at info');
  assert.equal(lines[0]?.reason, 'shutting down (SIGTERM)');
  assert.equal(lines[1]?.delayMs, 5_000);
  assert.equal(lines[1]?.connections, 2);
  assert.equal(lines[1]?.timeoutMs, 25_000);
  assert.equal(lines[2]?.drainMs, 1_500);
  assert.equal(lines[3]?.totalMs, 6_500);
});

test('at the deadline the connections left are cut, then the release runs', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const r = recorded(t, { open: 3 });
  const done = gracefulShutdown(r.steps, { delayMs: 1_000, timeoutMs: 2_000 }, 'shutting down (SIGINT)', r.logger);
  await settle();
  t.mock.timers.tick(1_000);
  await settle();
  t.mock.timers.tick(1_999);
  await settle();
  assert.deepEqual(r.calls.slice(1), ['stopAccepting@1000'], 'not cut before the deadline');
  t.mock.timers.tick(1);
  await settle();
  assert.deepEqual(r.calls.slice(1), ['stopAccepting@1000', 'cutConnections@3000', 'release@3000']);
  const report = await done;
  assert.equal(report.cut, 3);
  const cut = r.lines().find((l) => l.phase === 'cut');
  assert.equal(cut?.level, 40, 'a cut is a warning');
  assert.equal(cut?.connections, 3);
  assert.equal(cut?.drainMs, 2_000);
});

test('no delay: the listener closes at once; upgraded connections are closed right after it', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const r = recorded(t, { upgraded: true });
  const done = gracefulShutdown(r.steps, { delayMs: 0, timeoutMs: 25_000 }, 'shutting down (SIGTERM)', r.logger);
  await settle();
  assert.deepEqual(r.calls, ['failReadiness(shutting down (SIGTERM))@0', 'stopAccepting@0', 'closeUpgraded@0']);
  r.drain();
  await done;
  assert.deepEqual(r.calls.slice(3), ['release@0']);
  assert.equal(r.lines().find((l) => l.phase === 'drain')?.upgraded, 1);
});

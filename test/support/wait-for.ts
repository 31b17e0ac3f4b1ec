// The tests' one polling wait: bounded in time and in count, and when it times out it says what it last saw: the
// check's last error and the recent output of every gatehouse process the test file started and has not stopped
// (crashed ones included). A wait that fails on a loaded machine can then be told from a bug without a rerun.
import { setTimeout as delay } from 'node:timers/promises';
import { recentOutput } from './cli-process.ts';

/** Poll `check` until it returns a value (not undefined) or `timeoutMs` passes. `what` may describe the last state seen. */
export async function waitFor<T>(what: string | (() => string), check: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 10;
  let lastError: unknown;
  for (let i = 0; i < maxTries; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await delay(intervalMs);
  }
  const error = lastError === undefined ? '' : `\nlast error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  const output = recentOutput();
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${error}${output === '' ? '' : `\n${output}`}`);
}

/** waitFor for a yes/no check. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 30_000, intervalMs = 50): Promise<void> {
  await waitFor(what, async () => ((await check()) ? true : undefined), timeoutMs, intervalMs);
}

/** eventually, polling every 20 ms, whose timeout names what `last()` saw last. */
export function untilSeen(what: string, check: () => boolean | Promise<boolean>, last: () => string, timeoutMs = 10_000): Promise<void> {
  return eventually(check, () => `${what}; last seen: ${last()}`, timeoutMs, 20);
}

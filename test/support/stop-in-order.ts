// Teardown for tests that start several parts: each step runs in order, even if an earlier one throws (a control
// plane must stop even when its controller would not), and the first error is reported.
export async function stopInOrder(steps: ReadonlyArray<() => Promise<unknown> | undefined>): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) await Promise.resolve().then(step).catch((err: unknown) => errors.push(err));
  if (errors.length > 0) throw errors[0];
}

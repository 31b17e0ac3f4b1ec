// Processes and folders a test helper started, ended by pid (SIGKILL) and removed when the test process exits or is
// interrupted, even if the test never reached its cleanup. 'exit' handlers must be synchronous, so each handle's
// killNow() is too.
export interface ExitHandle {
  killNow(): void;
}

const live = new Set<ExitHandle>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const h of live) h.killNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const h of live) h.killNow();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Ends `handle` with this process unless released first. */
export function reapOnExit(handle: ExitHandle): void {
  installExitHandlers();
  live.add(handle);
}

/** Cleaned up by its owner: no longer ended at exit. */
export function releaseOnExit(handle: ExitHandle): void {
  live.delete(handle);
}

// SIGTERM and SIGINT for `gatehouse proxy` and `gatehouse standalone`: the first starts the graceful shutdown
// (proxy/server/graceful-shutdown.ts) and the process exits 0 once it is done, 1 if it failed. A second one during
// the shutdown exits at once with 128 + its number (130 for SIGINT, 143 for SIGTERM): whoever sent it chose not to
// wait (Ctrl-C twice), and a non-zero code says requests may have been cut.
import type { Logger } from 'pino';

const EXIT_CODE = { SIGINT: 130, SIGTERM: 143 } as const;

export function exitOnShutdownSignals(logger: Logger, shutdown: (signal: NodeJS.Signals) => Promise<void>): void {
  let first: NodeJS.Signals | undefined;
  const onSignal = (signal: keyof typeof EXIT_CODE): void => {
    if (first !== undefined) {
      logger.warn({ signal, first }, 'shutdown: second signal; exiting now');
      process.exit(EXIT_CODE[signal]);
    }
    first = signal;
    shutdown(signal).then(
      () => exitAfterLogs(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exitAfterLogs(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * Ends the process once the event loop is empty, so the log lines written so far reach stdout in order: pino's stdout
 * destination writes asynchronously and flushes synchronously at exit, so process.exit() with a write still in flight
 * let a later line overtake it (seen: "drained" after "done"; pino's flush(cb) does not wait for an in-flight write).
 * Bounded: a handle left open does not hold the exit past two seconds.
 */
function exitAfterLogs(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2_000).unref();
}

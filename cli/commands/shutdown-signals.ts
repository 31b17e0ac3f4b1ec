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
      () => exitAfterLogs(logger, 0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exitAfterLogs(logger, 1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * Exits once the log lines written so far have reached stdout. pino's stdout destination writes asynchronously and
 * flushes synchronously at exit, so a line still in flight at process.exit() could land after the last one (seen:
 * "drained" after "done"). Bounded: a stdout that never drains does not hold the exit past a second.
 */
function exitAfterLogs(logger: Logger, code: number): void {
  setTimeout(() => process.exit(code), 1_000).unref();
  logger.flush(() => process.exit(code));
}

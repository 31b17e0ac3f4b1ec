// One access-log line per request: what was asked, where it went, how it ended. Never headers or the query
// string (they carry credentials); the path is logged without its query.
import type { Logger } from 'pino';

export interface RequestLogEntry {
  requestId: string;
  method: string;
  path: string;
  route: string;
  status: number;
  ms: number;
  upstream?: string;
  /** The authenticated consumer's name (never its credential). */
  consumer?: string;
  /** Why the exchange failed, as an error code (never a message that might echo request data). */
  error?: string;
}

export function logRequest(logger: Logger, entry: RequestLogEntry): void {
  if (entry.status >= 500) logger.warn(entry, 'request');
  else logger.info(entry, 'request');
}

/** Checked first so a request whose line would be dropped does not build the entry at all. */
export function wantsLog(logger: Logger, status: number): boolean {
  return logger.isLevelEnabled(status >= 500 ? 'warn' : 'info');
}

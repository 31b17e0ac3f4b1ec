// --client-header-timeout and --client-body-timeout, for `gatehouse proxy` and `gatehouse standalone` (one definition):
// how long a slow client may hold a request open (proxy/server/client-timeouts.ts, docs/http-front-door.md).
import { defineFlags } from './flag-definitions.ts';
import { durationFlag } from './duration-flag.ts';

/** Never off: a gateway without them is held open by any client that sends a byte a minute. */
const timeout = durationFlag(100);

export const CLIENT_TIMEOUT_FLAGS = defineFlags({
  'client-header-timeout': {
    value: 'DURATION',
    schema: timeout,
    default: '60s',
    description: "a request's headers must arrive within this (from its first byte, or the connection's opening), else 408",
  },
  'client-body-timeout': {
    value: 'DURATION',
    schema: timeout,
    default: '60s',
    description: 'the longest pause allowed between two reads of a request body, else 408 (or a cut response)',
  },
});

/** The flags as startGateway's clientTimeouts. */
export function clientTimeouts(flags: { 'client-header-timeout': number; 'client-body-timeout': number }): { headerMs: number; bodyMs: number } {
  return { headerMs: flags['client-header-timeout'], bodyMs: flags['client-body-timeout'] };
}

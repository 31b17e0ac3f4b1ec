// --shutdown-delay and --shutdown-timeout, for `gatehouse proxy` and `gatehouse standalone` (one definition, the
// delay's default differs): what a SIGTERM or SIGINT does is proxy/server/graceful-shutdown.ts, and how the two
// relate to the pod's terminationGracePeriodSeconds is docs/operations.md "Shutdown and rolling restarts".
import { defineFlags } from './flag-definitions.ts';
import { durationFlag } from './duration-flag.ts';

/** The delay's default: 5s for a proxy in a cluster (endpoint removal takes seconds), 0s where nothing balances. */
export function shutdownFlags(defaultDelay: string) {
  return defineFlags({
    'shutdown-delay': {
      value: 'DURATION',
      schema: durationFlag(0),
      default: defaultDelay,
      description: 'on SIGTERM/SIGINT, keep serving this long with /readyz failing, so load balancers stop sending here first',
    },
    'shutdown-timeout': {
      value: 'DURATION',
      schema: durationFlag(0),
      default: '25s',
      description: 'after the delay: stop accepting, let in-flight requests finish this long, then cut them',
    },
  });
}

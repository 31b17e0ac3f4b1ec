// A gateway's shutdown on SIGTERM or SIGINT, in phases, each logged at info with how long it took
// (docs/operations.md "Shutdown and rolling restarts"):
//   1. unready  /readyz answers 503 with the reason and every response carries Connection: close, while traffic is
//               still served for `delayMs`: the time endpoint controllers, kube-proxy and load balancers need to stop
//               sending here (a listener closed at once would refuse what is already on its way);
//   2. drain    the listener closes (new connections are refused) and idle keep-alive sockets with it; requests in
//               flight finish, for up to `timeoutMs`;
//   3. cut      connections still open at that deadline are destroyed (warn, with their number);
//   4. release  what outlives the traffic: the controller subscription, upstream pools, Redis, the access log.
// The timers are the global ones, so a unit test drives the phases with node:test's mock timers.
import type { Logger } from 'pino';

/** What the phases act on: a Gateway's traffic steps (start-gateway.ts) and the command's own release. */
export interface ShutdownSteps {
  failReadiness(reason: string): void;
  /** Closes the listener and the idle sockets; `drained` settles once no connection is left. */
  stopAccepting(): Promise<{ open: number; drained: Promise<void> }>;
  /**
   * Upgraded connections, which the HTTP server neither counts as idle nor cuts: WebSockets, once the proxy forwards
   * them, get a close frame 1001 (Going Away) here, right after the listener closes. Resolves how many.
   */
  closeUpgraded?(): Promise<number>;
  /** Destroys every connection still open; resolves how many there were. */
  cutConnections(): Promise<number>;
  release(): Promise<void>;
}

/** The traffic server's part, which a Gateway has. */
export type TrafficSteps = Omit<ShutdownSteps, 'release'>;

/** A gateway's traffic steps (its methods are closures: no binding needed). */
export function trafficSteps(gateway: TrafficSteps): TrafficSteps {
  const { failReadiness, stopAccepting, cutConnections } = gateway;
  return { failReadiness, stopAccepting, cutConnections, ...(gateway.closeUpgraded && { closeUpgraded: gateway.closeUpgraded }) };
}

export interface ShutdownTiming {
  /** Phase 1: serving on with readiness failed. */
  delayMs: number;
  /** Phase 2: the deadline for requests in flight once the listener is closed. */
  timeoutMs: number;
}

export interface ShutdownReport {
  /** Connections cut at the deadline. */
  cut: number;
  delayMs: number;
  drainMs: number;
  releaseMs: number;
  totalMs: number;
}

export async function gracefulShutdown(steps: ShutdownSteps, timing: ShutdownTiming, reason: string, logger: Logger): Promise<ShutdownReport> {
  const started = Date.now();
  steps.failReadiness(reason);
  logger.info({ phase: 'unready', reason, delayMs: timing.delayMs }, 'shutdown: readiness fails; serving on for the shutdown delay');
  if (timing.delayMs > 0) await sleep(timing.delayMs);

  const drainStarted = Date.now();
  const { open, drained } = await steps.stopAccepting();
  const upgraded = steps.closeUpgraded && { upgraded: await steps.closeUpgraded() };
  logger.info(
    { phase: 'drain', delayMs: drainStarted - started, connections: open, ...upgraded, timeoutMs: timing.timeoutMs },
    'shutdown: listener closed; in-flight requests finishing',
  );
  const inTime = await settlesWithin(drained, timing.timeoutMs);
  let cut = 0;
  if (inTime) {
    logger.info({ phase: 'drained', drainMs: Date.now() - drainStarted }, 'shutdown: every connection ended');
  } else {
    cut = await steps.cutConnections();
    logger.warn({ phase: 'cut', drainMs: Date.now() - drainStarted, connections: cut }, 'shutdown: deadline reached; connections still open were cut');
  }
  const drainMs = Date.now() - drainStarted;

  const releaseStarted = Date.now();
  await steps.release();
  const releaseMs = Date.now() - releaseStarted;
  const totalMs = Date.now() - started;
  logger.info({ phase: 'done', releaseMs, totalMs, cut }, 'shutdown: complete');
  return { cut, delayMs: drainStarted - started, drainMs, releaseMs, totalMs };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `p` settles within `ms`; the timer is cleared either way. */
export async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

// What the rate limits of every runtime of one gateway share, carried from table to table: the proxy's own counters,
// the fleet's store (Redis), the fleet size the controller reports, the Redis refusals remembered until they expire.
import type { Logger } from 'pino';
import type { Clock } from '../policy-types.ts';
import { GlobalDenials } from './global-denials.ts';
import type { LimitCall, TakeResult } from './limit-types.ts';
import { LocalLimitStore } from './local-limit-store.ts';

/** The fleet's shared counters (redis-limit-store.ts behind its connection). */
export interface GlobalLimitStore {
  /** False while the store is known to be unreachable: callers fall back at once instead of waiting for an error. */
  available(): boolean;
  /** All or nothing over `calls`, which share the hash tag `tag`; rejects when the store cannot answer. */
  take(tag: string, calls: readonly LimitCall[]): Promise<TakeResult>;
  refund(tag: string, calls: readonly LimitCall[]): Promise<void>;
  /** Told the outcome of every take (answered or not), so a store that stops answering can be skipped for a while. */
  settled(ok: boolean): void;
}

/** One limit's instruments, bound once per table so a request does no label lookups. */
export interface LimitInstruments {
  allowed(): void;
  limited(): void;
  /** A Global limit decided by the local fallback (Redis unavailable, failure mode Open). */
  fallback(): void;
}

export interface RateLimitMetrics {
  limit(policy: string, limit: string): LimitInstruments;
  /** A Global take Redis could not answer (error or timeout). */
  storeError(policy: string): void;
  /** Seconds a Global take took, answered or not. */
  storeLatency(policy: string, seconds: number): void;
  /** A request refused 503 because a Closed limit's store was unavailable. */
  storeUnavailable(policy: string): void;
}

export const NO_RATE_LIMIT_METRICS: RateLimitMetrics = {
  limit: () => ({ allowed() {}, limited() {}, fallback() {} }),
  storeError() {},
  storeLatency() {},
  storeUnavailable() {},
};

/** How many proxies share the fleet's limits, as the controller reports it (1 until it does). */
export class FleetSize {
  #proxies = 1;
  get proxies(): number {
    return this.#proxies;
  }
  set(proxies: number): void {
    this.#proxies = Math.max(1, Math.floor(proxies));
  }
}

export interface RateLimitEnv {
  clock: Clock;
  local: LocalLimitStore;
  /** null: no --redis-url; Global limits then act as if Redis were down (their failure mode decides). */
  global: GlobalLimitStore | null;
  denials: GlobalDenials;
  fleet: FleetSize;
  metrics: RateLimitMetrics;
  logger: Logger;
}

export function rateLimitEnvFor(opts: { clock: Clock; logger: Logger; metrics?: RateLimitMetrics; global?: GlobalLimitStore | null; localKeys?: number; fleet?: FleetSize }): RateLimitEnv {
  return {
    clock: opts.clock,
    local: new LocalLimitStore(opts.localKeys),
    global: opts.global ?? null,
    denials: new GlobalDenials(),
    fleet: opts.fleet ?? new FleetSize(),
    metrics: opts.metrics ?? NO_RATE_LIMIT_METRICS,
    logger: opts.logger,
  };
}

// The rate limits' instruments: decisions per RatePolicy and limit (allowed, limited, and those the local fallback
// decided), Redis errors, latency and 503s per policy, and gauges read when scraped (Redis up, local counters held,
// the fleet size fallbacks divide by). Labels come from the table, never from a request.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LimitInstruments, RateLimitMetrics } from '../policy/rate-limit/rate-limit-env.ts';

export interface RateLimitGauges {
  /** null: no Redis configured (the gauge is then not exported). */
  redisReady: () => boolean | null;
  localKeys: () => number;
  fleetProxies: () => number;
}

/** One limit's decisions as plain numbers: a request adds to a field; the counter reads them when scraped. */
interface LimitCounts {
  readonly policy: string;
  readonly limit: string;
  allowed: number;
  limited: number;
  fallback: number;
  /** What the Prometheus counter holds already. */
  reported: { allowed: number; limited: number; fallback: number };
}

export class RateLimitPrometheus implements RateLimitMetrics {
  /** By "<policy> <limit>": a table swap that rebuilds a policy keeps counting on the same numbers. */
  readonly #counts = new Map<string, LimitCounts>();
  readonly #storeErrors: Counter<'policy'>;
  readonly #storeSeconds: Histogram<'policy'>;
  readonly #unavailable: Counter<'policy'>;
  /** Children per policy, bound on first use: a request does no label hashing. */
  readonly #perPolicy = new Map<string, { errors: { inc: () => void }; seconds: { observe: (v: number) => void }; unavailable: { inc: () => void } }>();

  constructor(registry: Registry, gauges: RateLimitGauges) {
    const counts = this.#counts;
    // Counted in plain numbers and handed to prom-client when scraped: a bound child's inc() still hashes its labels on
    // every call, which was a measurable share of a Local limit's cost.
    new Counter({
      name: 'gatehouse_rate_limit_decisions_total',
      help: 'Rate limit decisions by RatePolicy id, limit ("<limit>" or "<plan>/<limit>") and result: allowed (the request passed every limit), limited (this limit refused it), fallback (a Global limit decided by the local share while Redis was unavailable)',
      labelNames: ['policy', 'limit', 'result'],
      registers: [registry],
      collect() {
        for (const c of counts.values()) {
          for (const result of ['allowed', 'limited', 'fallback'] as const) {
            const delta = c[result] - c.reported[result];
            if (delta > 0) this.inc({ policy: c.policy, limit: c.limit, result }, delta);
            c.reported[result] = c[result];
          }
        }
      },
    });
    this.#storeErrors = new Counter({
      name: 'gatehouse_rate_limit_store_errors_total',
      help: 'Global limit decisions Redis could not answer (error or timeout), by RatePolicy id; each falls back per the failure mode',
      labelNames: ['policy'],
      registers: [registry],
    });
    this.#storeSeconds = new Histogram({
      name: 'gatehouse_rate_limit_store_seconds',
      help: 'Time of one Redis decision (one script, one round trip), answered or not, by RatePolicy id',
      labelNames: ['policy'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    });
    this.#unavailable = new Counter({
      name: 'gatehouse_rate_limit_store_unavailable_total',
      help: 'Requests refused 503 because Redis was unavailable and a limit of the RatePolicy has failureMode Closed',
      labelNames: ['policy'],
      registers: [registry],
    });
    // Only with a Redis: a label-less gauge always exports a value, and 0 would read as "Redis down".
    if (gauges.redisReady() !== null) {
      new Gauge({
        name: 'gatehouse_redis_up',
        help: 'Whether the Redis of Global limits answers (1) or not (0); absent when no Redis is configured',
        registers: [registry],
        collect() {
          this.set(gauges.redisReady() === true ? 1 : 0);
        },
      });
    }
    new Gauge({
      name: 'gatehouse_rate_limit_local_keys',
      help: 'Counters held by this proxy (Local limits and the fallback of Global ones); bounded by --local-limit-keys',
      registers: [registry],
      collect() {
        this.set(gauges.localKeys());
      },
    });
    new Gauge({
      name: 'gatehouse_rate_limit_fleet_proxies',
      help: "Proxies in the fleet as the controller reports them: a Global limit's local fallback admits 1/this of it",
      registers: [registry],
      collect() {
        this.set(gauges.fleetProxies());
      },
    });
  }

  limit(policy: string, limit: string): LimitInstruments {
    const key = `${policy} ${limit}`;
    let c = this.#counts.get(key);
    if (c === undefined) {
      c = { policy, limit, allowed: 0, limited: 0, fallback: 0, reported: { allowed: 0, limited: 0, fallback: 0 } };
      this.#counts.set(key, c);
    }
    const counts = c;
    return { allowed: () => counts.allowed++, limited: () => counts.limited++, fallback: () => counts.fallback++ };
  }

  storeError(policy: string): void {
    this.#policy(policy).errors.inc();
  }

  storeLatency(policy: string, seconds: number): void {
    this.#policy(policy).seconds.observe(seconds);
  }

  storeUnavailable(policy: string): void {
    this.#policy(policy).unavailable.inc();
  }

  #policy(policy: string) {
    let bound = this.#perPolicy.get(policy);
    if (bound === undefined) {
      bound = { errors: this.#storeErrors.labels(policy), seconds: this.#storeSeconds.labels(policy), unavailable: this.#unavailable.labels(policy) };
      this.#perPolicy.set(policy, bound);
    }
    return bound;
  }
}

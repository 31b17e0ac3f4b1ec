// The table's RatePolicies, built once per (id, compiled form) and carried across table swaps while unchanged: each
// limit's counter-key prefix, RateLimit-Policy item and metric instruments are made here, not per request. Counters
// live in the env's stores, keyed by policy id, so every route naming a policy shares its counters (a limit of 10
// used by 100 routes admits 10, not 1,000).
import { keepUnchanged } from '../keep-unchanged.ts';
import type { Consumer } from '../policy-types.ts';
import type { TableLimit, TableQuota, TableRatePolicy, TableTokenBucket } from '../../table/table-schema.ts';
import { policyItem } from './rate-limit-headers.ts';
import type { LimitInstruments, RateLimitEnv } from './rate-limit-env.ts';

export interface BuiltLimit {
  readonly limit: TableLimit;
  readonly global: boolean;
  /** "<RatePolicy name>/<limit>" or "<RatePolicy name>/<plan>/<limit>": header items and metric labels. */
  readonly name: string;
  /** Prepended to the request's key value: the counter's key in its store (the policy id is the Redis hash tag). */
  readonly keyPrefix: string;
  /** This limit's RateLimit-Policy item. */
  readonly policyItem: string;
  readonly metrics: LimitInstruments;
  /** The rule sized to one proxy's share of the fleet, for the local fallback of a Global limit. */
  fallbackRule(proxies: number): TableTokenBucket | TableQuota;
}

export interface BuiltRatePolicy {
  readonly config: TableRatePolicy;
  readonly json: string;
  readonly id: string;
  /** Every limit that applies to a caller of the given plan (the policy's own, then the plan's). */
  limitsFor(consumer: Consumer | null): readonly BuiltLimit[];
}

export type RatePolicySet = ReadonlyMap<string, BuiltRatePolicy>;
export const NO_RATE_POLICIES: RatePolicySet = new Map();

export function buildRatePolicies(list: readonly TableRatePolicy[], previous: RatePolicySet, env: RateLimitEnv): RatePolicySet {
  if (list.length === 0) return NO_RATE_POLICIES;
  return keepUnchanged(list, previous, (config, json) => buildPolicy(config, json, env));
}

function buildPolicy(config: TableRatePolicy, json: string, env: RateLimitEnv): BuiltRatePolicy {
  const policyName = config.id.slice(config.id.indexOf('/') + 1);
  const build = (plan: string | null) => (limit: TableLimit) => buildLimit(config.id, policyName, plan, limit, env);
  const base = config.limits.map(build(null));
  const byPlan = new Map<string, readonly BuiltLimit[]>();
  for (const plan of config.plans) byPlan.set(plan.name, [...base, ...plan.limits.map(build(plan.name))]);
  const fallback = config.defaultPlan === undefined ? base : (byPlan.get(config.defaultPlan) ?? base);
  if (env.global === null && [config.limits, ...config.plans.map((p) => p.limits)].some((limits) => limits.some((l) => l.scope === 'global'))) {
    // Said once per built policy, not per request: every decision of its Global limits takes the failure mode.
    env.logger.warn({ ratePolicy: config.id }, 'RatePolicy has Global limits but this proxy has no Redis (--redis-url): they follow their failure mode');
  }
  return {
    config,
    json,
    id: config.id,
    limitsFor: (consumer) => (consumer?.plan !== undefined ? (byPlan.get(consumer.plan) ?? fallback) : fallback),
  };
}

function buildLimit(policyId: string, policyName: string, plan: string | null, limit: TableLimit, env: RateLimitEnv): BuiltLimit {
  const name = plan === null ? `${policyName}/${limit.name}` : `${policyName}/${plan}/${limit.name}`;
  const global = limit.scope === 'global';
  // Local counters need the policy id in the key; Redis gets it as the hash tag instead.
  const counter = `${plan ?? ''}|${limit.name}|`;
  let sized: { proxies: number; rule: TableTokenBucket | TableQuota } | null = null;
  return {
    limit,
    global,
    name,
    keyPrefix: global ? counter : `${policyId}|${counter}`,
    policyItem: policyItem(name, limit),
    metrics: env.metrics.limit(policyId, plan === null ? limit.name : `${plan}/${limit.name}`),
    fallbackRule(proxies) {
      if (sized === null || sized.proxies !== proxies) sized = { proxies, rule: shareOf(limit.rule, proxies) };
      return sized.rule;
    },
  };
}

/** One proxy's share of a fleet-wide rule: the rate and the sizes divided by the fleet (at least one unit). */
function shareOf(rule: TableTokenBucket | TableQuota, proxies: number): TableTokenBucket | TableQuota {
  if (proxies <= 1) return rule;
  if (rule.kind === 'tokenBucket') return { ...rule, rate: rule.rate / proxies, burst: Math.max(1, Math.floor(rule.burst / proxies)) };
  return { ...rule, limit: Math.max(1, Math.floor(rule.limit / proxies)) };
}

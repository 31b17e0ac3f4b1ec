// The throttle step of a route, after authorize (so limits can key on the consumer and its plan): every limit of the
// route's RatePolicies is checked and the most restrictive decides. Local limits are taken first, synchronously; then
// each policy's Global limits in one Redis script (one round trip; policies go out together). A request refused by
// any limit consumes nothing: what the others admitted is refunded. The step stays synchronous when no Global limit
// needs Redis (none configured, a refusal remembered, Redis known to be down).
//
// Redis unavailable: an Open limit is decided by a local counter sized to this proxy's share of the fleet; a Closed
// one refuses with 503. A route naming a RatePolicy the table lacks answers 500, never forwards unthrottled.
import type { Denial, PolicyContext, PolicyStep, StepOutcome } from '../policy-types.ts';
import { quotaWindowAt } from './calendar-window.ts';
import { limitKey } from './limit-key.ts';
import type { LimitCall, LimitState, TakeResult } from './limit-types.ts';
import { retryAfterSeconds, stateItem } from './rate-limit-headers.ts';
import type { RateLimitEnv } from './rate-limit-env.ts';
import type { BuiltLimit, BuiltRatePolicy } from './rate-policy-set.ts';

const UNAVAILABLE: Denial = { status: 500, error: 'rate policy unavailable', reason: 'unavailable' };

/** One limit applied to this request. */
interface Applied {
  readonly policy: BuiltRatePolicy;
  readonly limit: BuiltLimit;
  call: LimitCall;
  /** null while undecided, or when a sibling's remembered refusal decided its group without asking. */
  state: LimitState | null;
}

/** A policy's Global limits for this request, and how they were decided. */
interface GlobalGroup {
  readonly policy: BuiltRatePolicy;
  readonly applied: Applied[];
  /** redis: Redis admitted or refused; fallback: the local share decided; closed: unavailable and a limit is Closed. */
  via: 'redis' | 'fallback' | 'remembered' | 'closed';
  result: TakeResult | null;
}

export class ThrottleStep implements PolicyStep {
  readonly #policies: readonly BuiltRatePolicy[] | null;
  readonly #rule: string;
  readonly #env: RateLimitEnv;

  /** `policies` null: some RatePolicy of the route is not in the table (fail closed). `rule`: "<ns>/<name>/r<i>". */
  constructor(policies: readonly BuiltRatePolicy[] | null, rule: string, env: RateLimitEnv) {
    this.#policies = policies;
    this.#rule = rule;
    this.#env = env;
  }

  run(ctx: PolicyContext): StepOutcome | Promise<StepOutcome> {
    const policies = this.#policies;
    if (policies === null) return UNAVAILABLE;
    const env = this.#env;
    const now = env.clock();
    const applied: Applied[] = [];
    const local: Applied[] = [];
    let groups: GlobalGroup[] | null = null;
    for (const policy of policies) {
      let group: GlobalGroup | null = null;
      for (const limit of policy.limitsFor(ctx.consumer)) {
        const a: Applied = { policy, limit, call: callFor(limit, limit.keyPrefix + limitKey(limit.limit.key, ctx, this.#rule), now), state: null };
        applied.push(a);
        if (!limit.global) local.push(a);
        else {
          if (group === null) {
            group = { policy, applied: [], via: 'redis', result: null };
            (groups ??= []).push(group);
          }
          group.applied.push(a);
        }
      }
    }
    if (local.length > 0) {
      const taken = env.local.take(
        local.map((a) => a.call),
        now,
      );
      local.forEach((a, i) => (a.state = taken.states[i] as LimitState));
      if (!taken.allowed) return this.#refuse(applied);
    }
    if (groups === null) return this.#admit(ctx, applied);

    const pending: Promise<void>[] = [];
    for (const group of groups) {
      const promise = this.#decideGroup(group, now);
      if (promise !== null) pending.push(promise);
    }
    if (pending.length === 0) return this.#settle(ctx, applied, local, groups);
    return Promise.all(pending).then(() => this.#settle(ctx, applied, local, groups));
  }

  /** Decides what it can at once (a remembered refusal, Redis down); else returns the Redis round trip. */
  #decideGroup(group: GlobalGroup, now: number): Promise<void> | null {
    const env = this.#env;
    const tag = group.policy.id;
    for (const a of group.applied) {
      const refusal = env.denials.refusal(denialKey(tag, a.call), now);
      if (refusal !== null) {
        a.state = { allowed: false, remaining: 0, resetMs: Math.max(0, refusal.resetAt - now), retryAfterMs: refusal.retryAt - now };
        group.via = 'remembered';
        group.result = { allowed: false, states: [] };
        return null;
      }
    }
    const store = env.global;
    if (store === null || !store.available()) {
      this.#fallback(group, now);
      return null;
    }
    const calls = group.applied.map((a) => a.call);
    const started = performance.now();
    return store.take(tag, calls).then(
      (result) => {
        store.settled(true);
        env.metrics.storeLatency(tag, (performance.now() - started) / 1000);
        group.result = result;
        group.applied.forEach((a, i) => {
          const state = result.states[i] as LimitState;
          a.state = state;
          // From the time the take was sent: Redis (and a quota's window) measured from there, so remembering from
          // its answer would refuse a little past the moment Redis would admit again.
          if (!state.allowed) env.denials.refuse(denialKey(tag, a.call), { retryAt: now + state.retryAfterMs, resetAt: now + state.resetMs });
        });
      },
      () => {
        store.settled(false);
        env.metrics.storeLatency(tag, (performance.now() - started) / 1000);
        env.metrics.storeError(tag);
        this.#fallback(group, env.clock());
      },
    );
  }

  /** Redis cannot answer: a Closed limit refuses the request; otherwise this proxy's share of each limit decides. */
  #fallback(group: GlobalGroup, now: number): void {
    if (group.applied.some((a) => a.limit.limit.failureMode === 'closed')) {
      group.via = 'closed';
      return;
    }
    group.via = 'fallback';
    const proxies = this.#env.fleet.proxies;
    const calls = group.applied.map((a) => fallbackCall(a, proxies));
    const result = this.#env.local.take(calls, now);
    group.result = { allowed: result.allowed, states: result.states };
    group.applied.forEach((a, i) => {
      a.state = result.states[i] as LimitState;
      a.limit.metrics.fallback();
    });
  }

  #settle(ctx: PolicyContext, applied: Applied[], local: readonly Applied[], groups: readonly GlobalGroup[]): StepOutcome {
    const closed = groups.find((g) => g.via === 'closed');
    const refused = closed !== undefined || groups.some((g) => g.result !== null && !g.result.allowed);
    if (!refused) return this.#admit(ctx, applied);
    this.#refund(local, groups);
    if (closed !== undefined) {
      this.#env.metrics.storeUnavailable(closed.policy.id);
      return { status: 503, error: 'rate limit store unavailable', reason: 'store-unavailable', headers: { 'retry-after': '1' } };
    }
    return this.#refuse(applied);
  }

  /** Gives back what the local take and the admitting groups consumed for a request that is refused after all. */
  #refund(local: readonly Applied[], groups: readonly GlobalGroup[]): void {
    const env = this.#env;
    const now = env.clock();
    if (local.length > 0) env.local.refund(
      local.map((a) => a.call),
      now,
    );
    for (const g of groups) {
      if (g.result === null || !g.result.allowed) continue;
      if (g.via === 'fallback') env.local.refund(
        g.applied.map((a) => fallbackCall(a, env.fleet.proxies)),
        now,
      );
      else if (g.via === 'redis' && env.global !== null) {
        env.global.refund(
          g.policy.id,
          g.applied.map((a) => a.call),
        ).catch(() => env.metrics.storeError(g.policy.id));
      }
    }
  }

  #admit(ctx: PolicyContext, applied: readonly Applied[]): null {
    for (const a of applied) a.limit.metrics.allowed();
    const headers = rateLimitFields(applied, false);
    if (headers !== null) {
      if (ctx.responseHeaders === null) ctx.responseHeaders = headers;
      else for (const h of headers) ctx.responseHeaders.push(h);
    }
    return null;
  }

  #refuse(applied: readonly Applied[]): Denial {
    let retryMs = 0;
    for (const a of applied) {
      const s = a.state;
      if (s === null || s.allowed) continue;
      a.limit.metrics.limited();
      if (s.retryAfterMs > retryMs) retryMs = s.retryAfterMs;
    }
    const headers: Record<string, string> = { 'retry-after': retryAfterSeconds(retryMs) };
    for (const [name, value] of rateLimitFields(applied, true) ?? []) headers[name] = value;
    return { status: 429, error: 'too many requests', reason: 'limited', headers };
  }
}

function callFor(limit: BuiltLimit, key: string, now: number): LimitCall {
  const rule = limit.limit.rule;
  return rule.kind === 'tokenBucket' ? { key, rule } : { key, rule, window: quotaWindowAt(now, rule.period, rule.timeZone) };
}

/** A counter's key among every policy's: the policy id (no spaces) and the counter's key, apart. */
function denialKey(tag: string, call: LimitCall): string {
  return `${tag} ${call.key}`;
}

function fallbackCall(a: Applied, proxies: number): LimitCall {
  const rule = a.limit.fallbackRule(proxies);
  const key = `fallback|${a.policy.id}|${a.call.key}`;
  return rule.kind === 'tokenBucket' ? { key, rule } : { key, rule, window: a.call.window as NonNullable<LimitCall['window']> };
}

/** The RateLimit-Policy and RateLimit fields over the limits whose policy shows them; null when none does. */
function rateLimitFields(applied: readonly Applied[], refused: boolean): Array<[string, string]> | null {
  let policy = '';
  let state = '';
  for (const a of applied) {
    const shows = a.policy.config.headers;
    if (shows === 'never' || (shows === 'limited' && !refused) || a.state === null) continue;
    policy += (policy === '' ? '' : ', ') + a.limit.policyItem;
    state += (state === '' ? '' : ', ') + stateItem(a.limit.name, a.state);
  }
  return policy === '' ? null : [
    ['ratelimit-policy', policy],
    ['ratelimit', state],
  ];
}


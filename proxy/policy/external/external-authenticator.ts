// The External authorizer (the AWS Lambda-authorizer model): the caller's identity sources and the request are
// POSTed to a service that answers allow or deny. Decisions are cached per (route, identity) and identical
// misses share one call; when the service cannot decide, the authorizer's failure mode answers (deny by default).
import type { Logger } from 'pino';
import type { TableExternalAuthorizer } from '../../table/table-schema.ts';
import type { AuthMetrics, AuthResult, Authenticator, Clock, Denial, PolicyContext } from '../policy-types.ts';
import { ANONYMOUS, readAnswer, unavailable } from './decision-answer.ts';
import type { AnswerPolicy, Decision } from './decision-answer.ts';
import { DecisionCache } from './decision-cache.ts';
import { DecisionClient } from './decision-client.ts';
import { decisionKey } from './decision-key.ts';
import { decisionRequest } from './decision-request.ts';
import { challengeOf, readIdentity, sourceLabel } from './identity-sources.ts';

export interface ExternalDeps {
  clock: Clock;
  metrics: AuthMetrics;
  logger: Logger;
  /** Decisions kept at most (least recently used evicted first). Default 10 000. */
  maxCacheEntries?: number;
}

export const DEFAULT_MAX_CACHE_ENTRIES = 10_000;

/** Cached decisions only: a service that could not decide is asked again next time. */
type Settled = Exclude<Decision, { kind: 'unavailable' }>;

export function createExternalAuthenticator(config: TableExternalAuthorizer, deps: ExternalDeps): Authenticator {
  return new ExternalAuthenticator(config, deps);
}

class ExternalAuthenticator implements Authenticator {
  readonly id: string;
  readonly ownedHeaders: readonly string[];
  readonly #config: TableExternalAuthorizer;
  readonly #deps: ExternalDeps;
  readonly #labels: readonly string[];
  readonly #answerPolicy: AnswerPolicy;
  readonly #challenge: Record<string, string> | undefined;
  readonly #cache: DecisionCache<Settled>;
  /** Calls on their way, by cache key: a burst of identical misses waits on the first one's call. */
  readonly #inFlight = new Map<string, Promise<Decision>>();
  readonly #client: DecisionClient;
  /** Whether the last call got a decision: the unavailable warning is logged on transitions, not per request. */
  #available = true;

  constructor(config: TableExternalAuthorizer, deps: ExternalDeps) {
    this.id = config.id;
    this.ownedHeaders = [...new Set([...config.contextHeaders, config.consumerHeader])];
    this.#config = config;
    this.#deps = deps;
    this.#labels = config.identitySources.map(sourceLabel);
    this.#answerPolicy = { authorizerId: config.id, contextHeaders: new Set(config.contextHeaders), consumerHeader: config.consumerHeader };
    this.#challenge = challengeOf(config.identitySources);
    this.#cache = new DecisionCache(deps.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES, deps.clock);
    this.#client = new DecisionClient(config.url, config.timeoutMs);
  }

  authenticate(ctx: PolicyContext): AuthResult | Promise<AuthResult> {
    const identity = readIdentity(this.#config.identitySources, ctx.req.headers, ctx.query);
    if (identity === null) {
      this.#deps.metrics.decision(this.id, 'deny', 'missing');
      return { ok: false, denial: this.#denial(401, 'missing credentials', 'missing') };
    }
    const key = decisionKey(ctx.routeId, identity);
    const cached = this.#cache.get(key);
    this.#deps.metrics.cacheLookup('decision', cached !== undefined);
    // A hit answers synchronously: no promise, no microtask, on the hot path.
    if (cached !== undefined) return this.#result(cached);
    let pending = this.#inFlight.get(key);
    if (pending === undefined) {
      pending = this.#ask(key, identity, ctx).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending.then((decision) => this.#result(decision));
  }

  close(): void {
    this.#client.close();
    this.#cache.clear();
  }

  /** Never rejects: whatever goes wrong is an unavailable decision. */
  async #ask(key: string, identity: string[], ctx: PolicyContext): Promise<Decision> {
    let decision: Decision;
    try {
      const reply = await this.#client.ask(decisionRequest(this.#labels, identity, ctx), ctx.requestId);
      decision = reply.ok ? readAnswer(reply.status, reply.body, this.#answerPolicy) : unavailable(reply.cause);
    } catch {
      decision = unavailable('internal error');
    }
    this.#noteAvailability(decision);
    // Denials are cached like allows (the answer's ttl, else resultTtlMs): a flood of bad credentials then costs
    // the service one call per (route, identity) and TTL, as a valid caller does.
    if (decision.kind !== 'unavailable') this.#cache.set(key, decision, decision.ttlMs ?? this.#config.resultTtlMs);
    return decision;
  }

  #result(decision: Decision): AuthResult {
    const metrics = this.#deps.metrics;
    switch (decision.kind) {
      case 'allow':
        metrics.decision(this.id, 'allow', 'ok');
        // A fresh array: the chain may add to a request's upstream headers, and the cached one is shared.
        return { ok: true, consumer: decision.consumer, headers: decision.headers.map(([n, v]) => [n, v]) };
      case 'deny':
        if (decision.status === 401) {
          metrics.decision(this.id, 'deny', 'denied');
          return { ok: false, denial: this.#denial(401, 'unauthorized', 'denied') };
        }
        metrics.decision(this.id, 'deny', 'forbidden');
        return { ok: false, denial: this.#denial(403, 'forbidden', 'forbidden') };
      case 'unavailable':
        metrics.decision(this.id, 'error', 'unavailable');
        if (this.#config.failureMode === 'deny') return { ok: false, denial: this.#denial(503, 'authorizer unavailable', 'unavailable') };
        // Fail open: let the request through, but set no consumer or context header, so the upstream can tell an
        // unverified caller from a verified one (the client's copies of those headers are removed all the same).
        return { ok: true, consumer: { name: ANONYMOUS, authorizer: this.id, plan: undefined, claims: {} }, headers: null };
    }
  }

  #denial(status: number, error: string, reason: string): Denial {
    const denial: Denial = { status, error, reason };
    if (status === 401 && this.#challenge !== undefined) denial.headers = { ...this.#challenge };
    return denial;
  }

  #noteAvailability(decision: Decision): void {
    const available = decision.kind !== 'unavailable';
    if (available === this.#available) return;
    this.#available = available;
    const log = this.#deps.logger;
    if (decision.kind === 'unavailable') {
      log.warn({ authorizer: this.id, cause: decision.cause, failureMode: this.#config.failureMode }, 'external authorizer unavailable');
    } else {
      log.info({ authorizer: this.id }, 'external authorizer answering again');
    }
  }
}

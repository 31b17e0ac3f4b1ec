// The authorizers' instruments: decisions by authorizer, result and reason, JWKS fetches by result, cache lookups by
// cache and outcome, and each JWKS source's key count and last good fetch. Labels come from the table (authorizer ids,
// JWKS URIs) and fixed reason names, never from a request, so cardinality is bounded by the table.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { JwksState } from '../policy/jwt/jwks-cache.ts';
import type { AuthMetrics } from '../policy/policy-types.ts';

export class AuthorizerMetrics implements AuthMetrics {
  readonly #decisions: Counter<'authorizer' | 'result' | 'reason'>;
  readonly #jwksFetches: Counter<'result'>;
  readonly #cacheLookups: Counter<'cache' | 'result'>;
  /**
   * Children bound by authorizer, then `result reason`: a decision costs map lookups on strings that already exist
   * (no key built per request), not prom-client's label hashing.
   */
  readonly #bound = new Map<string, Map<string, Map<string, { inc: () => void }>>>();
  /** [token miss, token hit, decision miss, decision hit]. */
  readonly #lookups: ReadonlyArray<{ inc: () => void }>;

  constructor(registry: Registry, jwksStates: () => readonly JwksState[]) {
    this.#decisions = new Counter({
      name: 'gatehouse_authorizer_decisions_total',
      help: 'Authorization outcomes by authorizer id, result (allow, deny, error) and reason (missing, invalid, expired, scope, claim, denied, forbidden, unavailable, …); a route requirement refusal after a successful authentication counts as a deny of its own',
      labelNames: ['authorizer', 'result', 'reason'],
      registers: [registry],
    });
    this.#jwksFetches = new Counter({
      name: 'gatehouse_jwks_fetches_total',
      help: 'JWKS fetches by result: ok, error (network, status, size or JSON) or refused (no usable key; the previous keys are kept)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.#cacheLookups = new Counter({
      name: 'gatehouse_authorizer_cache_lookups_total',
      help: 'Lookups in the verified-token cache (token) and the external decision cache (decision), by result (hit, miss)',
      labelNames: ['cache', 'result'],
      registers: [registry],
    });
    new Gauge({
      name: 'gatehouse_jwks_keys',
      help: 'Usable keys held per JWKS URI (0 until the first good fetch)',
      labelNames: ['uri'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of jwksStates()) this.set({ uri: s.uri }, s.keys);
      },
    });
    new Gauge({
      name: 'gatehouse_jwks_last_success_timestamp_seconds',
      help: 'When each JWKS URI was last fetched successfully (absent before the first success)',
      labelNames: ['uri'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of jwksStates()) if (s.lastSuccessAt !== undefined) this.set({ uri: s.uri }, s.lastSuccessAt / 1000);
      },
    });
    for (const result of ['ok', 'error', 'refused']) this.#jwksFetches.inc({ result }, 0);
    // Bound lazily: a cache that is never used exports no series.
    const lookup = (cache: string, result: string): { inc: () => void } => {
      let child: { inc: () => void } | undefined;
      return { inc: () => (child ??= this.#cacheLookups.labels(cache, result)).inc() };
    };
    this.#lookups = [lookup('token', 'miss'), lookup('token', 'hit'), lookup('decision', 'miss'), lookup('decision', 'hit')];
  }

  decision(authorizer: string, result: 'allow' | 'deny' | 'error', reason: string): void {
    let byResult = this.#bound.get(authorizer);
    if (byResult === undefined) this.#bound.set(authorizer, (byResult = new Map()));
    let byReason = byResult.get(result);
    if (byReason === undefined) byResult.set(result, (byReason = new Map()));
    let child = byReason.get(reason);
    if (child === undefined) byReason.set(reason, (child = this.#decisions.labels(authorizer, result, reason)));
    child.inc();
  }

  jwksFetch(result: 'ok' | 'error' | 'refused'): void {
    this.#jwksFetches.inc({ result });
  }

  cacheLookup(cache: 'token' | 'decision', hit: boolean): void {
    (this.#lookups[(cache === 'token' ? 0 : 2) + (hit ? 1 : 0)] as { inc: () => void }).inc();
  }
}

// The authorize step of a route: its Authorizer authenticates the caller, then the route's own requirements (scopes,
// claim values) are checked against what was verified. A route whose Authorizer is not in the table (missing, invalid,
// unusable) answers 500 and is never forwarded. Synchronous whenever the authenticator is (API keys, cache hits).
import type { TableRouteAuth } from '../table/table-schema.ts';
import { grantedScopes } from './jwt/granted-scopes.ts';
import type { AuthMetrics, AuthResult, Authenticator, Denial, PolicyContext, PolicyStep, StepOutcome } from './policy-types.ts';

const UNAVAILABLE: Denial = { status: 500, error: 'authorizer unavailable', reason: 'unavailable' };
const INSUFFICIENT_SCOPE: Denial = {
  status: 403,
  error: 'insufficient scope',
  reason: 'scope',
  headers: { 'www-authenticate': 'Bearer realm="gatehouse", error="insufficient_scope"' },
};
const CLAIM_MISMATCH: Denial = { status: 403, error: 'forbidden', reason: 'claim' };

/** Granted scopes per verified claims object: a cached token's claims are one frozen object, so it parses once. */
const scopesOf = new WeakMap<object, ReadonlySet<string>>();

function scopesGranted(claims: Readonly<Record<string, unknown>>): ReadonlySet<string> {
  let scopes = scopesOf.get(claims);
  if (scopes === undefined) scopesOf.set(claims, (scopes = grantedScopes(claims)));
  return scopes;
}

export class AuthorizeStep implements PolicyStep {
  readonly #authenticator: Authenticator | null;
  readonly #scopes: readonly string[];
  readonly #claims: ReadonlyArray<readonly [string, string]>;
  readonly #metrics: AuthMetrics;
  readonly #id: string;

  /** `authenticator` null: the route's Authorizer cannot be enforced (fail closed). */
  constructor(auth: TableRouteAuth, authenticator: Authenticator | null, metrics: AuthMetrics) {
    this.#authenticator = authenticator;
    this.#scopes = auth.scopes;
    this.#claims = auth.claims;
    this.#metrics = metrics;
    this.#id = auth.authorizer;
  }

  run(ctx: PolicyContext): StepOutcome | Promise<StepOutcome> {
    const authenticator = this.#authenticator;
    if (authenticator === null) {
      this.#metrics.decision(this.#id, 'error', 'unavailable');
      return UNAVAILABLE;
    }
    const result = authenticator.authenticate(ctx);
    if (result instanceof Promise) return result.then((r) => this.#settle(ctx, r));
    return this.#settle(ctx, result);
  }

  #settle(ctx: PolicyContext, result: AuthResult): StepOutcome {
    if (!result.ok) return result.denial;
    const consumer = result.consumer;
    if (this.#scopes.length > 0) {
      const granted = scopesGranted(consumer.claims);
      for (const scope of this.#scopes) {
        if (!granted.has(scope)) return this.#refuse(INSUFFICIENT_SCOPE);
      }
    }
    for (const [claim, value] of this.#claims) if (!claimHas(consumer.claims[claim], value)) return this.#refuse(CLAIM_MISMATCH);
    ctx.consumer = consumer;
    const headers = result.headers;
    if (headers !== null) {
      if (ctx.upstreamHeaders === null) ctx.upstreamHeaders = headers;
      else for (const h of headers) ctx.upstreamHeaders.push(h);
    }
    return null;
  }

  #refuse(denial: Denial): Denial {
    this.#metrics.decision(this.#id, 'deny', denial.reason);
    return denial;
  }
}

/** A claim equals the required value: a string, a number or boolean in its JSON form, or an array holding it. */
function claimHas(claim: unknown, value: string): boolean {
  if (typeof claim === 'string') return claim === value;
  if (typeof claim === 'number' || typeof claim === 'boolean') return String(claim) === value;
  if (Array.isArray(claim)) return claim.some((c) => claimHas(c, value));
  return false;
}

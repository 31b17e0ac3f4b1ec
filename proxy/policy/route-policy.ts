// A route's policies compiled, at table apply, into an ordered list of steps (client IP rules → authorize → throttle;
// cache and CORS plug in here later), plus the request headers its steps own. A route with no policy gets null and
// its requests skip all of this.
import type { TableRoute } from '../table/table-schema.ts';
import { AuthorizeStep } from './authorize-step.ts';
import { ClientIpStep } from './client-ip/client-ip-step.ts';
import type { AuthMetrics, Authenticator, Denial, PolicyContext, PolicyStep, StepOutcome } from './policy-types.ts';
import type { RateLimitEnv } from './rate-limit/rate-limit-env.ts';
import type { BuiltRatePolicy, RatePolicySet } from './rate-limit/rate-policy-set.ts';
import { ThrottleStep } from './rate-limit/throttle-step.ts';
import { ClientCertificateStep, CLIENT_CERT_HEADER } from '../tls/client-certificate.ts';

export interface RoutePolicy {
  readonly steps: readonly PolicyStep[];
  /** Lower-case headers a step may set upstream: the client's copies are removed before forwarding, so none is forged. */
  readonly ownedHeaders: ReadonlySet<string>;
}

/** The table's shared policies a route's steps are built from. */
export interface SharedPolicies {
  authorizers: ReadonlyMap<string, { authenticator: Authenticator }>;
  ratePolicies: RatePolicySet;
}

export function buildRoutePolicy(route: TableRoute, shared: SharedPolicies, metrics: AuthMetrics, limits: RateLimitEnv): RoutePolicy | null {
  const steps: PolicyStep[] = [];
  const owned = new Set<string>();
  if (route.clientCertificate !== undefined) {
    steps.push(new ClientCertificateStep(route.clientCertificate));
    owned.add(CLIENT_CERT_HEADER);
  }
  if (route.clientIp !== undefined) steps.push(new ClientIpStep(route.clientIp));
  if (route.auth !== undefined) {
    const authenticator = shared.authorizers.get(route.auth.authorizer)?.authenticator ?? null;
    steps.push(new AuthorizeStep(route.auth, authenticator, metrics));
    for (const h of authenticator?.ownedHeaders ?? []) owned.add(h);
  }
  if (route.ratePolicies !== undefined) {
    const policies: BuiltRatePolicy[] = [];
    for (const id of route.ratePolicies) {
      const built = shared.ratePolicies.get(id);
      if (built !== undefined) policies.push(built);
    }
    const { namespace, name, rule } = route.source;
    steps.push(new ThrottleStep(policies.length === route.ratePolicies.length ? policies : null, `${namespace}/${name}/r${rule}`, limits));
  }
  return steps.length === 0 ? null : { steps, ownedHeaders: owned };
}

const INTERNAL: Denial = { status: 500, error: 'internal error', reason: 'error' };

/**
 * Runs the steps in order and calls `done` once: with the first denial, or null when every step passed. Steps that
 * answer synchronously keep the whole run synchronous (no promise, no microtask); a step that throws or rejects
 * denies with 500, so a bug in a policy never forwards a request it was meant to check.
 */
export function runPolicy(policy: RoutePolicy, ctx: PolicyContext, done: (denial: Denial | null) => void): void {
  runFrom(policy.steps, 0, ctx, done);
}

function runFrom(steps: readonly PolicyStep[], start: number, ctx: PolicyContext, done: (denial: Denial | null) => void): void {
  for (let i = start; i < steps.length; i++) {
    let outcome: StepOutcome | Promise<StepOutcome>;
    try {
      outcome = (steps[i] as PolicyStep).run(ctx);
    } catch {
      done(INTERNAL);
      return;
    }
    if (outcome === null) continue;
    if (outcome instanceof Promise) {
      outcome.then(
        (o) => (o === null ? runFrom(steps, i + 1, ctx, done) : done(o)),
        () => done(INTERNAL),
      );
      return;
    }
    done(outcome);
    return;
  }
  done(null);
}

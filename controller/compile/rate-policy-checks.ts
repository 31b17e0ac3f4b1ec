// The RatePolicy checks a schema cannot express: limit names are unique within the policy's limits and within each
// plan (they name counters, metrics and RateLimit header items), plan names are unique and the default plan is one
// of them, a token bucket refills over a period longer than zero, and a quota's time zone is one this runtime knows.
import type { RatePolicy } from '../../crds/schemas/index.ts';
import { headerNameSchema, parseDurationMs } from '../../crds/schemas/index.ts';
import { isKnownTimeZone } from '../../proxy/policy/rate-limit/calendar-window.ts';
import type { FieldProblem } from './field-path.ts';

type Limit = NonNullable<RatePolicy['spec']['limits']>[number];

export function checkRatePolicy(policy: RatePolicy): FieldProblem[] {
  const problems: FieldProblem[] = [];
  checkLimits(policy.spec.limits ?? [], 'spec.limits', problems);
  const plans = new Map<string, number>();
  (policy.spec.plans ?? []).forEach((plan, i) => {
    const first = plans.get(plan.name);
    if (first !== undefined) problems.push({ path: `spec.plans[${i}].name`, message: `duplicate plan name ${JSON.stringify(plan.name)} (also spec.plans[${first}])` });
    else plans.set(plan.name, i);
    checkLimits(plan.limits, `spec.plans[${i}].limits`, problems);
  });
  const fallback = policy.spec.defaultPlan;
  if (fallback !== undefined && !plans.has(fallback)) problems.push({ path: 'spec.defaultPlan', message: `names no plan of spec.plans: ${JSON.stringify(fallback)}` });
  return problems;
}

function checkLimits(limits: readonly Limit[], at: string, problems: FieldProblem[]): void {
  const names = new Map<string, number>();
  limits.forEach((limit, i) => {
    const first = names.get(limit.name);
    if (first !== undefined) problems.push({ path: `${at}[${i}].name`, message: `duplicate limit name ${JSON.stringify(limit.name)} (also ${at}[${first}])` });
    else names.set(limit.name, i);
    if (limit.tokenBucket && parseDurationMs(limit.tokenBucket.period) < 1) problems.push({ path: `${at}[${i}].tokenBucket.period`, message: 'must be at least 1ms' });
    limit.key.forEach((part, k) => {
      // `name` is a header for Header keys and a claim for JWTClaim ones: the ApiRoute's header-name rule, applied here.
      if (part.type === 'Header' && part.name !== undefined && !headerNameSchema.safeParse(part.name).success) {
        problems.push({ path: `${at}[${i}].key[${k}].name`, message: 'must be a valid HTTP header name' });
      }
    });
    if (limit.quota && !isKnownTimeZone(limit.quota.timeZone)) problems.push({ path: `${at}[${i}].quota.timeZone`, message: `unknown time zone ${JSON.stringify(limit.quota.timeZone)} (an IANA name such as "Europe/Paris")` });
  });
}

// The RatePolicy checks a schema cannot express: limit names are unique (they name counters and metrics),
// and a token bucket refills over a period longer than zero.
import type { RatePolicy } from '../../crds/schemas/index.ts';
import { parseDurationMs } from '../../crds/schemas/index.ts';
import type { FieldProblem } from './field-path.ts';

export function checkRatePolicy(policy: RatePolicy): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const names = new Map<string, number>();
  policy.spec.limits.forEach((limit, i) => {
    const first = names.get(limit.name);
    if (first !== undefined) problems.push({ path: `spec.limits[${i}].name`, message: `duplicate limit name ${JSON.stringify(limit.name)} (also spec.limits[${first}])` });
    else names.set(limit.name, i);
    if (limit.tokenBucket && parseDurationMs(limit.tokenBucket.period) < 1) {
      problems.push({ path: `spec.limits[${i}].tokenBucket.period`, message: 'must be at least 1ms' });
    }
  });
  return problems;
}

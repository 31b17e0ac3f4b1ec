// Fields this gateway version validates but does not enforce yet. They are accepted (so manifests written for
// later versions apply today) and listed in the Accepted message, never silently ignored.
import type { ApiRoute } from '../../crds/schemas/index.ts';

const NOT_ENFORCED = 'is accepted but not yet enforced by this gateway version';

export function unenforcedRouteFields(route: ApiRoute): string[] {
  const fields: string[] = [];
  const { spec } = route;
  spec.rules.forEach((rule, i) => {
    if (rule.cache !== undefined) fields.push(`spec.rules[${i}].cache`);
  });
  return fields.map((f) => `${f} ${NOT_ENFORCED}`);
}

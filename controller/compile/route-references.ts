// An ApiRoute's references to Authorizers and RatePolicies (same namespace). A reference resolves when the
// target is being served — valid now, or invalid but still serving its last accepted version.
import type { ApiRoute } from '../../crds/schemas/index.ts';
import type { RefProblem } from './conditions.ts';
import type { ResourceKind } from './compile-types.ts';

export type RefTargetState = 'served' | 'not-accepted' | 'missing';

export type RefLookup = (kind: ResourceKind, namespace: string, name: string) => RefTargetState;

export function checkRouteReferences(route: ApiRoute, lookup: RefLookup): RefProblem[] {
  const ns = route.metadata.namespace;
  const refs: { kind: ResourceKind; name: string; path: string }[] = [];
  const { spec } = route;
  if (spec.authorizer) refs.push({ kind: 'Authorizer', name: spec.authorizer.name, path: 'spec.authorizer.name' });
  spec.ratePolicies?.forEach((p, k) => refs.push({ kind: 'RatePolicy', name: p.name, path: `spec.ratePolicies[${k}].name` }));
  spec.rules.forEach((rule, i) => {
    if (rule.authorizer) refs.push({ kind: 'Authorizer', name: rule.authorizer.name, path: `spec.rules[${i}].authorizer.name` });
    rule.ratePolicies?.forEach((p, k) => refs.push({ kind: 'RatePolicy', name: p.name, path: `spec.rules[${i}].ratePolicies[${k}].name` }));
  });
  const problems: RefProblem[] = [];
  for (const ref of refs) {
    const state = lookup(ref.kind, ns, ref.name);
    if (state === 'missing') problems.push({ path: ref.path, reason: 'RefNotFound', message: `${ref.kind} ${ns}/${ref.name} not found` });
    if (state === 'not-accepted') problems.push({ path: ref.path, reason: 'RefNotAccepted', message: `${ref.kind} ${ns}/${ref.name} is not accepted (see its status)` });
  }
  return problems;
}

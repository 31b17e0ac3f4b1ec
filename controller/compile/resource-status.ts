// One resource's status conditions from its judgement, its compiled routes, its lost conflicts and what its
// references resolve to. Shared by the plain and the incremental compile, so both write the same conditions.
import type { ClusterIndex } from './cluster-index.ts';
import type { ResourceStatus } from './compile-types.ts';
import { buildConditions, type Acceptance, type RefResolution } from './conditions.ts';
import type { Judgement } from './judge-resource.ts';
import type { CompiledApiRoute } from './route-compiler.ts';
import { checkRouteReferences, type RefLookup } from './route-references.ts';
import { compileAuthorizer } from './authorizer-compiler.ts';
import { RATE_POLICIES_NOT_ENFORCED, unenforcedRouteFields } from './unsupported-features.ts';
import type { ValidatedResource } from './validated-resource.ts';

export function resourceStatus(j: Judgement, compiled: CompiledApiRoute | undefined, conflicts: string[], cluster: ClusterIndex, lookup: RefLookup): ResourceStatus {
  return {
    ...j.id,
    ...(j.generation === undefined ? {} : { generation: j.generation }),
    conditions: buildConditions({
      acceptance: acceptance(j),
      refs: references(j, compiled, cluster, lookup),
      conflicts,
      generation: j.generation,
    }),
  };
}

function acceptance(j: Judgement): Acceptance {
  if (j.problems.length > 0) {
    return { valid: false, problems: j.problems, fallback: j.served ? { generation: j.served.object.metadata.generation } : undefined };
  }
  return { valid: true, notes: j.served ? acceptedNotes(j.served) : [] };
}

function acceptedNotes(resource: ValidatedResource): string[] {
  if (resource.kind === 'ApiRoute') return unenforcedRouteFields(resource.object);
  return resource.kind === 'RatePolicy' ? [RATE_POLICIES_NOT_ENFORCED] : [];
}

function references(j: Judgement, compiled: CompiledApiRoute | undefined, cluster: ClusterIndex, lookup: RefLookup): RefResolution {
  const served = j.served;
  if (!served) return { checked: false };
  const ofFallback = j.problems.length > 0;
  switch (served.kind) {
    case 'ApiRoute':
      return {
        checked: true,
        ofFallback,
        problems: [...checkRouteReferences(served.object, lookup), ...(compiled?.backendProblems ?? [])],
        notes: compiled?.backendNotes ?? [],
      };
    case 'Authorizer':
      return { checked: true, ofFallback, problems: compileAuthorizer(served.object, cluster).problems, notes: [] };
    case 'RatePolicy':
      return { checked: true, ofFallback, problems: [], notes: [] };
  }
}

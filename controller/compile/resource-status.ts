// One resource's status conditions from its judgement, its compiled routes, its lost conflicts and what its
// references resolve to. Shared by the plain and the incremental compile, so both write the same conditions.
import type { JwksHealth, ResourceStatus } from './compile-types.ts';
import { JwksCaches } from '../../proxy/policy/jwt/jwks-cache.ts';
import type { TableAuthorizer } from '../../proxy/table/table-schema.ts';
import type { RefProblem } from './conditions.ts';
import { buildConditions, type Acceptance, type RefResolution } from './conditions.ts';
import type { Judgement } from './judge-resource.ts';
import type { CompiledApiRoute } from './route-compiler.ts';
import { checkRouteReferences, type RefLookup } from './route-references.ts';
import type { CompiledAuthorizer } from './authorizer-compiler.ts';
import { insecureBackendNotes } from './backend-tls-notes.ts';
import type { ValidatedResource } from './validated-resource.ts';

/** The health of a JWKS source by its key; undefined when not watched (standalone, or not probed yet). */
export type JwksHealthLookup = (sourceKey: string) => JwksHealth | undefined;

const NO_JWKS_HEALTH: JwksHealthLookup = () => undefined;

/**
 * `compiled` / `authorizer`: what the compile made of the served ApiRoute or Authorizer (their reference problems come
 * from there, so the status never compiles anything again).
 */
export function resourceStatus(
  j: Judgement,
  compiled: CompiledApiRoute | undefined,
  authorizer: CompiledAuthorizer | undefined,
  conflicts: string[],
  lookup: RefLookup,
  jwksHealth: JwksHealthLookup = NO_JWKS_HEALTH,
  tlsProblems: readonly RefProblem[] = [],
): ResourceStatus {
  return {
    ...j.id,
    ...(j.generation === undefined ? {} : { generation: j.generation }),
    conditions: buildConditions({
      acceptance: acceptance(j),
      refs: references(j, compiled, authorizer, lookup, jwksHealth, tlsProblems),
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
  return resource.kind === 'ApiRoute' ? insecureBackendNotes(resource.object) : [];
}

function references(
  j: Judgement,
  compiled: CompiledApiRoute | undefined,
  authorizer: CompiledAuthorizer | undefined,
  lookup: RefLookup,
  jwksHealth: JwksHealthLookup,
  tlsProblems: readonly RefProblem[],
): RefResolution {
  const served = j.served;
  if (!served) return { checked: false };
  const ofFallback = j.problems.length > 0;
  switch (served.kind) {
    case 'ApiRoute':
      return {
        checked: true,
        ofFallback,
        problems: [...checkRouteReferences(served.object, lookup), ...(compiled?.backendProblems ?? []), ...tlsProblems],
        notes: compiled?.backendNotes ?? [],
      };
    case 'Authorizer': {
      const problems = authorizer?.problems ?? [];
      const jwks = jwksProblem(authorizer?.table ?? null, jwksHealth);
      return { checked: true, ofFallback, problems: jwks === null ? problems : [...problems, jwks], notes: [] };
    }
    case 'RatePolicy':
      return { checked: true, ofFallback, problems: [], notes: [] };
  }
}

/** A JWKS URI the controller cannot fetch: proxies keep the keys they have, but new or rotated keys will not arrive. */
function jwksProblem(table: TableAuthorizer | null, jwksHealth: JwksHealthLookup): RefProblem | null {
  if (table?.type !== 'jwt' || table.jwks.source !== 'uri') return null;
  const health = jwksHealth(JwksCaches.keyOf(table.jwks));
  if (health === undefined || health.ok) return null;
  return {
    path: 'spec.jwt.jwks.uri',
    reason: 'JwksUnavailable',
    message: `fetching the JWKS from ${health.uri} fails since ${health.since}: ${health.error}; proxies keep using the keys they already have`,
  };
}

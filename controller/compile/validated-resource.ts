// A resource that passed validation, tagged by kind so the rest of the compiler never re-checks shapes.
import type { ApiRoute, Authorizer, RatePolicy } from '../../crds/schemas/index.ts';

export type ValidatedResource =
  | { kind: 'ApiRoute'; object: ApiRoute }
  | { kind: 'Authorizer'; object: Authorizer }
  | { kind: 'RatePolicy'; object: RatePolicy };

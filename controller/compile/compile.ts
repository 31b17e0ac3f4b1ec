// The compiler: resources (+ Services, EndpointSlices, Secrets) in; one routing table and a status per resource out.
// Pure and deterministic: no I/O, no clock, no randomness, and the same input in any order gives the same bytes.
// Each resource is judged on its own, so an invalid one is reported and left out (or keeps its last accepted
// version) without changing how anything else is served.
import type { RoutingTable, TableBackend } from '../../proxy/table/table-schema.ts';
import { TABLE_SCHEMA_VERSION } from '../../proxy/table/table-schema.ts';
import type { CompileInput, CompileOutput, RawResource, ResourceStatus } from './compile-types.ts';
import { indexCluster, type ClusterIndex } from './cluster-index.ts';
import { buildConditions, type Acceptance, type RefResolution } from './conditions.ts';
import { resolveConflicts, type OwnedCandidate } from './conflict-resolver.ts';
import { sortInResolutionOrder } from './resolution-order.ts';
import { compareResourceIds, resourceKey } from './resource-key.ts';
import { compileApiRoute, type CompiledApiRoute } from './route-compiler.ts';
import { checkRouteReferences, type RefLookup } from './route-references.ts';
import { checkAuthorizerReferences } from './authorizer-references.ts';
import { tableVersion } from './table-hash.ts';
import { unenforcedKindNote, unenforcedRouteFields } from './unsupported-features.ts';
import { judgeResource, type Judgement } from './judge-resource.ts';
import type { ValidatedResource } from './validated-resource.ts';

export function compile(input: CompileInput): CompileOutput {
  const cluster = indexCluster(input);
  const cache = input.cache;
  const validate = cache ? cache.validate.bind(cache) : undefined;
  const judged = groupByKey(input.resources).map((group) => judgeResource(group, input.lastAccepted, validate));
  const byKey = new Map(judged.map((j) => [resourceKey(j.id), j]));
  const lookup: RefLookup = (kind, namespace, name) => {
    const j = byKey.get(resourceKey({ kind, namespace, name }));
    return j === undefined ? 'missing' : j.served ? 'served' : 'not-accepted';
  };

  // Routes claim paths in resolution order; compile each served ApiRoute once.
  const routes = sortInResolutionOrder(
    judged.flatMap((j) => (j.served?.kind === 'ApiRoute' ? [{ judgement: j, object: j.served.object }] : [])),
    (r) => orderOf(r.object.metadata),
  );
  const compiled = new Map<string, CompiledApiRoute>();
  const candidates: OwnedCandidate[] = [];
  for (const { judgement, object } of routes) {
    const c = cache ? cache.compileApiRoute(object, cluster) : compileApiRoute(object, cluster);
    compiled.set(resourceKey(judgement.id), c);
    for (const candidate of c.candidates) candidates.push({ ...candidate, owner: { namespace: judgement.id.namespace, name: judgement.id.name } });
  }
  const { kept, lost } = resolveConflicts(candidates, cache ? cache.claimKeys.bind(cache) : undefined);

  const table = assembleTable(kept, [...compiled.values()].flatMap((c) => c.backends), cache ? cache.tableVersion.bind(cache) : tableVersion);
  const statuses: ResourceStatus[] = judged
    .map((j) => {
      const key = resourceKey(j.id);
      return {
        ...j.id,
        ...(j.generation === undefined ? {} : { generation: j.generation }),
        conditions: buildConditions({
          acceptance: acceptance(j),
          refs: references(j, compiled.get(key), cluster, lookup),
          conflicts: j.id.kind === 'ApiRoute' ? (lost.get(`${j.id.namespace}/${j.id.name}`) ?? []) : [],
          generation: j.generation,
        }),
      };
    })
    .sort(compareResourceIds);
  const accepted = new Map<string, unknown>();
  for (const j of [...judged].sort((a, b) => compareResourceIds(a.id, b.id))) if (j.served) accepted.set(resourceKey(j.id), j.served.object);
  return { table, statuses, accepted };
}

function groupByKey(resources: readonly RawResource[]): RawResource[][] {
  const groups = new Map<string, RawResource[]>();
  for (const r of resources) {
    const key = resourceKey(r);
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()];
}

function orderOf(metadata: { namespace: string; name: string; creationTimestamp?: string | undefined }) {
  return { namespace: metadata.namespace, name: metadata.name, creationTimestamp: metadata.creationTimestamp };
}

/** Only backends some served route uses; each id once, sorted by id. */
function assembleTable(routes: RoutingTable['routes'], backends: TableBackend[], version: (content: Omit<RoutingTable, 'version'>) => string): RoutingTable {
  const used = new Set<string>();
  for (const r of routes) {
    for (const b of r.backends) used.add(b.backend);
    for (const b of r.canary?.backends ?? []) used.add(b.backend);
  }
  const byId = new Map<string, TableBackend>();
  for (const b of backends) if (used.has(b.id) && !byId.has(b.id)) byId.set(b.id, b);
  const content: Omit<RoutingTable, 'version'> = { schema: TABLE_SCHEMA_VERSION, routes, backends: [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
  return { schema: content.schema, version: version(content), routes: content.routes, backends: content.backends };
}

function acceptance(j: Judgement): Acceptance {
  if (j.problems.length > 0) {
    return { valid: false, problems: j.problems, fallback: j.served ? { generation: j.served.object.metadata.generation } : undefined };
  }
  return { valid: true, notes: j.served ? acceptedNotes(j.served) : [] };
}

function acceptedNotes(resource: ValidatedResource): string[] {
  return resource.kind === 'ApiRoute' ? unenforcedRouteFields(resource.object) : [unenforcedKindNote(resource.kind)];
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
      return { checked: true, ofFallback, problems: checkAuthorizerReferences(served.object, cluster), notes: [] };
    case 'RatePolicy':
      return { checked: true, ofFallback, problems: [], notes: [] };
  }
}

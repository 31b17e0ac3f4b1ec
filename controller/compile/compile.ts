// The compiler: resources (+ Services, EndpointSlices, Secrets) in; one routing table and a status per resource out.
// Pure and deterministic: no I/O, no clock, no randomness, and the same input in any order gives the same bytes.
// Each resource is judged on its own, so an invalid one is reported and left out (or keeps its last accepted
// version) without changing how anything else is served.
//
// This is the plain, whole-input compile. Given a CompileCache, the cache's incremental compile
// (incremental-compile.ts) answers instead, with the same output.
import type { RoutingTable, TableAuthorizer, TableBackend, TableRatePolicy } from '../../proxy/table/table-schema.ts';
import { TABLE_SCHEMA_VERSION } from '../../proxy/table/table-schema.ts';
import type { CompileInput, CompileOutput, ResourceStatus } from './compile-types.ts';
import { indexCluster } from './cluster-index.ts';
import { resolveConflicts, type OwnedCandidate } from './conflict-resolver.ts';
import { orderOf, sortInResolutionOrder } from './resolution-order.ts';
import { compareResourceIds, resourceKey } from './resource-key.ts';
import { compileApiRoute, type CompiledApiRoute } from './route-compiler.ts';
import type { RefLookup } from './route-references.ts';
import { tableVersion } from './table-hash.ts';
import { groupByKey, judgeResource } from './judge-resource.ts';
import { resourceStatus } from './resource-status.ts';
import { compileAuthorizer, type CompiledAuthorizer } from './authorizer-compiler.ts';
import { compileRatePolicy } from './rate-policy-compiler.ts';
import { cmp } from './resource-key.ts';
import { assembleTls, type TlsOutcome } from './tls-assembly.ts';
import { defaultCertificateOf, withServedCertificates } from './tls-input.ts';

export function compile(input: CompileInput): CompileOutput {
  if (input.cache) return input.cache.compile(input);
  const cluster = indexCluster(input);
  const judged = groupByKey(input.resources).map((group) => judgeResource(group, input.lastAccepted));
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
    const c = compileApiRoute(object, cluster);
    compiled.set(resourceKey(judgement.id), c);
    for (const candidate of c.candidates) candidates.push({ ...candidate, owner: { namespace: judgement.id.namespace, name: judgement.id.name } });
  }
  const { kept, lost } = resolveConflicts(candidates);
  const tlsRoutes = routes.flatMap(({ judgement }) => {
    const tls = compiled.get(resourceKey(judgement.id))?.tls;
    return tls ? [{ owner: `${judgement.id.namespace}/${judgement.id.name}`, tls }] : [];
  });
  const tls = assembleTls(tlsRoutes, defaultCertificateOf(input, cluster), input.lastAccepted, input.now);

  const compiledAuthorizers = new Map<string, CompiledAuthorizer>();
  for (const j of judged) if (j.served?.kind === 'Authorizer') compiledAuthorizers.set(resourceKey(j.id), compileAuthorizer(j.served.object, cluster));
  const usable = [...compiledAuthorizers.values()].flatMap((a) => (a.table === null ? [] : [a.table]));
  const ratePolicies = judged.flatMap((j) => (j.served?.kind === 'RatePolicy' ? [compileRatePolicy(j.served.object)] : []));
  const table = assembleTable(kept, [...compiled.values()].flatMap((c) => c.backends), usable, ratePolicies, tls);
  const statuses: ResourceStatus[] = judged
    .map((j) => {
      const owner = `${j.id.namespace}/${j.id.name}`;
      const said = j.id.kind === 'ApiRoute' ? tls.routes.get(owner) : undefined;
      const conflicts = j.id.kind === 'ApiRoute' ? [...(lost.get(owner) ?? []), ...(said?.conflicts ?? [])] : [];
      const key = resourceKey(j.id);
      return resourceStatus(j, compiled.get(key), compiledAuthorizers.get(key), conflicts, lookup, (source) => input.jwksHealth?.get(source), said?.problems);
    })
    .sort(compareResourceIds);
  const accepted = new Map<string, unknown>();
  for (const j of [...judged].sort((a, b) => compareResourceIds(a.id, b.id))) if (j.served) accepted.set(resourceKey(j.id), j.served.object);
  return { table, statuses, accepted: withServedCertificates(accepted, tls.served), defaultCertificateProblem: tls.defaultProblem };
}

/** Only backends, authorizers and rate policies some served route uses; each id once, sorted by id. */
function assembleTable(routes: RoutingTable['routes'], backends: TableBackend[], authorizers: TableAuthorizer[], ratePolicies: TableRatePolicy[], tls: TlsOutcome): RoutingTable {
  const used = new Set<string>();
  const usedAuthorizers = new Set<string>();
  const usedRatePolicies = new Set<string>();
  for (const r of routes) {
    for (const b of r.backends ?? []) used.add(b.backend);
    for (const b of r.canary?.backends ?? []) used.add(b.backend);
    if (r.auth) usedAuthorizers.add(r.auth.authorizer);
    for (const p of r.ratePolicies ?? []) usedRatePolicies.add(p);
  }
  const byId = new Map<string, TableBackend>();
  for (const b of backends) if (used.has(b.id) && !byId.has(b.id)) byId.set(b.id, b);
  const content: Omit<RoutingTable, 'version'> = {
    schema: TABLE_SCHEMA_VERSION,
    routes,
    backends: [...byId.values()].sort(compareIds),
    authorizers: authorizers.filter((a) => usedAuthorizers.has(a.id)).sort(compareIds),
    ratePolicies: ratePolicies.filter((p) => usedRatePolicies.has(p.id)).sort(compareIds),
    certificates: tls.certificates,
    tlsHosts: tls.tlsHosts,
  };
  return { ...content, version: tableVersion(content) };
}

function compareIds(a: { id: string }, b: { id: string }): number {
  return cmp(a.id, b.id);
}

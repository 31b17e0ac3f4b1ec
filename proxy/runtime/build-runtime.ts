// Table → Runtime, off the hot path: validate, build the router index, pools, pickers and rewriters.
// Pools of endpoints the previous runtime already had are reused; the ones it had and this one lacks are
// returned as `retired`, to be closed once the swap has happened (never before: the old table still serves).
import type { Slicer } from '../router/host-buckets.ts';
import { buildRouteIndex, buildRouteIndexSliced } from '../router/route-index.ts';
import type { RouteIndex } from '../router/route-index-types.ts';
import { VersionedMap } from '../router/versioned-map.ts';
import { routingTableSchema, type RoutingTable, type TableBackend, type TableEndpoint, type TableRoute, type WeightedBackend } from '../table/table-schema.ts';
import { compileRewrite } from '../forward/rewrite-path.ts';
import { compactChanges } from '../forward/header-changes.ts';
import { BackendTarget } from './backend-target.ts';
import { DEFAULT_EJECTION, EndpointHealth } from './endpoint-health.ts';
import { DEFAULT_POOL_SETTINGS, UpstreamEndpoint, originOf } from './endpoint-pool.ts';
import { upstreamTls, upstreamTlsKey, upstreamTlsSettings, type UpstreamTls } from './upstream-tls.ts';
import { ReferenceCounts, targetKey } from './reference-counts.ts';
import { tableReferenceProblem, tableReferenceProblemSliced } from './table-references.ts';
import { WeightedPicker } from './weighted-picker.ts';
import type { Runtime, RuntimeOptions, RuntimeRoute } from './runtime-types.ts';
import { pino } from 'pino';
import { buildAuthorizers, NO_AUTHORIZERS, policyEnvFor, type AuthorizerSet } from '../policy/authorizer-set.ts';
import type { RatePolicySet } from '../policy/rate-limit/rate-policy-set.ts';
import { ClientAddresses } from '../policy/client-ip/client-address.ts';
import { NO_AUTH_METRICS } from '../policy/policy-types.ts';
import { buildRoutePolicy, type SharedPolicies } from '../policy/route-policy.ts';
import { buildRouteCors } from '../policy/cors/route-cors.ts';
import { buildRouteCache } from '../cache/route-cache.ts';
import { buildRatePolicies, NO_RATE_POLICIES } from '../policy/rate-limit/rate-policy-set.ts';
import { CertificateStore } from '../tls/certificate-store.ts';
import { buildRouteAnswer } from '../direct/route-answer.ts';
import { buildBodySchemas, type BodySchemaSet } from '../validation/body-schema-set.ts';
import { buildRouteValidation } from '../validation/request-validator.ts';

export type BuildResult = { ok: true; runtime: Runtime; retired: UpstreamEndpoint[] } | { ok: false; error: string };

const NO_METRICS = { requestDone: () => {}, upstreamResponded: () => {}, upstreamFailed: () => {} };

/** Defaults for a runtime built without options (and without a previous runtime to inherit them from). */
export const DEFAULT_RUNTIME_OPTIONS: RuntimeOptions = {
  ejection: DEFAULT_EJECTION,
  pools: DEFAULT_POOL_SETTINGS,
  routeMetrics: () => NO_METRICS,
  policy: policyEnvFor(pino({ level: 'silent' }), NO_AUTH_METRICS, new ClientAddresses([])),
};

export function buildRuntime(input: unknown, previous?: Runtime, options: RuntimeOptions = previous?.options ?? DEFAULT_RUNTIME_OPTIONS): BuildResult {
  const parsed = routingTableSchema.safeParse(input);
  if (!parsed.success) return { ok: false, error: `invalid routing table: ${formatIssues(parsed.error.issues)}` };
  const table = parsed.data;
  const problem = tableReferenceProblem(table);
  if (problem !== null) return { ok: false, error: `invalid routing table: ${problem}` };
  let index;
  try {
    index = buildRouteIndex(table.routes);
  } catch (err) {
    return { ok: false, error: `invalid routing table: ${err instanceof Error ? err.message : String(err)}` };
  }
  const bodySchemas = buildBodySchemas(table.routes, previous?.bodySchemas);
  if (!bodySchemas.ok) return { ok: false, error: `invalid routing table: ${bodySchemas.error}` };
  // Nothing below can fail, so no pool is created for a table that is then refused.
  const endpoints = new EndpointCollector(previous, options);
  const backendsById = new Map(table.backends.map((b) => [b.id, b]));
  const shared = { ...sharedPolicies(table, previous, options), bodySchemas: bodySchemas.schemas };
  const routes = new Map<string, RuntimeRoute>();
  for (const route of table.routes) routes.set(route.id, runtimeRoute(route, backendsById, endpoints, options, shared));
  return finish({ table, index, routes: VersionedMap.of(routes), endpoints, backendsById, refs: ReferenceCounts.of(table.routes), ...shared }, previous, options);
}

/**
 * buildRuntime for a table already validated against the schema (the stream validates it part by part), built in
 * time slices so applying 10k routes never holds the event loop for long. Swap the result in once, as usual.
 */
export async function buildRuntimeSliced(table: RoutingTable, slicer: Slicer, previous?: Runtime, options: RuntimeOptions = previous?.options ?? DEFAULT_RUNTIME_OPTIONS): Promise<BuildResult> {
  const problem = await tableReferenceProblemSliced(table, slicer);
  if (problem !== null) return { ok: false, error: `invalid routing table: ${problem}` };
  if (slicer.due()) await slicer.pause();
  let index;
  try {
    index = await buildRouteIndexSliced(table.routes, slicer);
  } catch (err) {
    return { ok: false, error: `invalid routing table: ${err instanceof Error ? err.message : String(err)}` };
  }
  // A pause between stages: each one's tail and the next one's unsliced start (body schemas, the shared policies, the
  // first routes run while their code is still cold) would otherwise add up to one stretch of 25-35 ms at 50k routes.
  await slicer.pause();
  const bodySchemas = buildBodySchemas(table.routes, previous?.bodySchemas);
  if (!bodySchemas.ok) return { ok: false, error: `invalid routing table: ${bodySchemas.error}` };
  const endpoints = new EndpointCollector(previous, options);
  const backendsById = new Map(table.backends.map((b) => [b.id, b]));
  const shared = { ...sharedPolicies(table, previous, options), bodySchemas: bodySchemas.schemas };
  await slicer.pause();
  const routes = new Map<string, RuntimeRoute>();
  for (const route of table.routes) {
    routes.set(route.id, runtimeRoute(route, backendsById, endpoints, options, shared));
    if (slicer.due()) await slicer.pause();
  }
  await slicer.pause();
  const refs = await ReferenceCounts.ofSliced(table.routes, slicer);
  return finish({ table, index, routes: VersionedMap.of(routes), endpoints, backendsById, refs, ...shared }, previous, options);
}

/** The table's authorizers and rate policies, keeping the previous runtime's built ones that did not change. */
export function sharedPolicies(table: RoutingTable, previous: Runtime | undefined, options: RuntimeOptions): SharedPolicies & { authorizers: AuthorizerSet; ratePolicies: RatePolicySet } {
  return {
    authorizers: buildAuthorizers(table.authorizers, previous?.authorizers ?? NO_AUTHORIZERS, options.policy),
    ratePolicies: buildRatePolicies(table.ratePolicies, previous?.ratePolicies ?? NO_RATE_POLICIES, options.policy.limits),
  };
}

/**
 * New endpoints for existing backends without touching routes or the router: the backends' targets (shared by every
 * route that sends to them) get their new endpoint lists; pools of endpoints that stay are kept warm. The result is
 * the previous table with those backends' endpoints replaced, under `version`.
 */
export function updateEndpoints(previous: Runtime, version: string, updates: ReadonlyArray<{ id: string; endpoints: TableEndpoint[] }>): BuildResult {
  const byId = new Map(updates.map((u) => [u.id, u.endpoints]));
  for (const id of byId.keys()) {
    if (!previous.backendsById.has(id)) return { ok: false, error: `endpoint update for unknown backend ${JSON.stringify(id)}` };
  }
  const backends = previous.table.backends.map((b) => {
    const endpoints = byId.get(b.id);
    return endpoints === undefined ? b : { ...b, endpoints };
  });
  const backendsById = new Map(backends.map((b) => [b.id, b]));
  const collector = new EndpointCollector(previous, previous.options);
  const replaced: Array<{ target: BackendTarget; endpoints: UpstreamEndpoint[] }> = [];
  for (const [id, targets] of previous.backendTargets) {
    const backend = backendsById.get(id) as TableBackend;
    for (const { target, connectMs } of targets) {
      if (byId.has(id)) replaced.push({ target, endpoints: collector.endpointsOf(backend, connectMs) });
      else for (const e of target.endpoints) collector.keep(e);
    }
  }
  // Everything above only collected; from here on the change happens at once.
  for (const { target, endpoints } of replaced) target.replaceEndpoints(endpoints);
  const table: RoutingTable = { ...previous.table, version, backends };
  const runtime: Runtime = { ...previous, version, table, backendsById, endpoints: collector.all };
  const retired = [...previous.endpoints.values()].filter((e) => !collector.all.has(e.key));
  return { ok: true, runtime, retired };
}

export function runtimeRoute(
  route: TableRoute,
  backendsById: ReadonlyMap<string, TableBackend>,
  endpoints: EndpointCollector,
  options: RuntimeOptions,
  shared: SharedPolicies & { bodySchemas: BodySchemaSet },
): RuntimeRoute {
  const connectMs = route.timeouts.connectMs;
  const picker = (refs: WeightedBackend[]): WeightedPicker<BackendTarget> => endpoints.picker(refs, connectMs, backendsById);
  const canary = route.canary;
  return {
    route,
    primary: picker(route.backends ?? []),
    canary: canary === undefined ? null : { trigger: { header: canary.header, cookie: canary.cookie }, picker: picker(canary.backends) },
    rewrite: compileRewrite(route.rewrite),
    requestHeaders: compactChanges(route.requestHeaders),
    responseHeaders: compactChanges(route.responseHeaders),
    policy: buildRoutePolicy(route, shared, options.policy.metrics, options.policy.limits),
    cors: buildRouteCors(route.cors, route.clientIp),
    cache: buildRouteCache(route, options.cache),
    answer: buildRouteAnswer(route),
    validation: buildRouteValidation(route.requestValidation, shared.bodySchemas),
    metrics: options.routeMetrics(route.id),
  };
}

/** What a build produced, before it becomes a Runtime. */
export interface BuiltParts {
  table: RoutingTable;
  index: RouteIndex;
  routes: VersionedMap<string, RuntimeRoute>;
  endpoints: EndpointCollector;
  backendsById: ReadonlyMap<string, TableBackend>;
  refs: ReferenceCounts;
  authorizers: AuthorizerSet;
  ratePolicies: RatePolicySet;
  bodySchemas: BodySchemaSet;
}

/** The table's certificate store (only with an HTTPS listener), reusing the previous one's contexts. */
export function certificateStore(table: RoutingTable, previous: Runtime | undefined, options: RuntimeOptions): CertificateStore | null {
  if (options.tls === undefined) return null;
  return new CertificateStore(table.certificates, table.tlsHosts, options.tls.settings, previous?.certificates ?? null, options.tls.logger);
}

export function finish(parts: BuiltParts, previous: Runtime | undefined, options: RuntimeOptions, certificates: CertificateStore | null = certificateStore(parts.table, previous, options)): BuildResult {
  const { table, index, routes, endpoints, backendsById, refs, authorizers, ratePolicies, bodySchemas } = parts;
  const runtime: Runtime = {
    version: table.version,
    table,
    index,
    routes,
    endpoints: endpoints.all,
    backendTargets: endpoints.targetsByBackend(),
    backendsById,
    refs,
    authorizers,
    ratePolicies,
    certificates,
    bodySchemas,
    options,
  };
  const retired = previous === undefined ? [] : [...previous.endpoints.values()].filter((e) => !endpoints.all.has(e.key));
  return { ok: true, runtime, retired };
}

/** Builds targets and endpoints once per distinct key, reusing the previous runtime's pools and health. */
export class EndpointCollector {
  readonly all = new Map<string, UpstreamEndpoint>();
  private readonly targets = new Map<string, BackendTarget>();
  private readonly byBackend = new Map<string, Array<{ target: BackendTarget; connectMs: number }>>();
  private readonly health = new Map<string, EndpointHealth>();
  private readonly pickers = new Map<string, WeightedPicker<BackendTarget>>();
  private readonly previous: Runtime | undefined;
  private readonly options: RuntimeOptions;

  constructor(previous: Runtime | undefined, options: RuntimeOptions) {
    this.previous = previous;
    this.options = options;
    // Health is per address, shared by every pool to it; carry it over so an ejected endpoint stays ejected.
    for (const e of previous?.endpoints.values() ?? []) this.health.set(e.address, e.health);
  }

  target(backend: TableBackend, connectMs: number): BackendTarget {
    const key = targetKey(backend.id, connectMs);
    let target = this.targets.get(key);
    if (target === undefined) {
      target = new BackendTarget(backend, this.endpointsOf(backend, connectMs));
      this.targets.set(key, target);
      let list = this.byBackend.get(backend.id);
      if (list === undefined) this.byBackend.set(backend.id, (list = []));
      list.push({ target, connectMs });
    }
    return target;
  }

  endpointsOf(backend: TableBackend, connectMs: number): UpstreamEndpoint[] {
    const settings = upstreamTlsSettings(backend);
    const tlsKey = settings === null ? '' : upstreamTlsKey(settings);
    // Built once per backend, and only when one of its endpoints needs a new pool.
    let tls: UpstreamTls | null = null;
    const tlsOf = (): UpstreamTls | null => (settings === null ? null : (tls ??= upstreamTls(settings, tlsKey)));
    return backend.endpoints.map((e) => this.endpoint(originOf(backend.protocol, e), tlsKey, tlsOf, connectMs));
  }

  /**
   * The picker over `refs`' targets, one per distinct list and connect timeout: pickers hold no state, and most routes
   * of a big table send to one backend, so this saves an object and two arrays per route.
   */
  picker(refs: readonly WeightedBackend[], connectMs: number, backendsById: ReadonlyMap<string, TableBackend>): WeightedPicker<BackendTarget> {
    let key = String(connectMs);
    for (const ref of refs) key += `|${ref.backend}|${ref.weight}`;
    let picker = this.pickers.get(key);
    if (picker === undefined) {
      picker = new WeightedPicker(refs.map((ref) => ({ item: this.target(backendsById.get(ref.backend) as TableBackend, connectMs), weight: ref.weight })));
      this.pickers.set(key, picker);
    }
    return picker;
  }

  /** Carries a target of an unchanged backend over, with its endpoints (table deltas: routes that did not change keep it). */
  adopt(backendId: string, target: BackendTarget, connectMs: number): void {
    const key = targetKey(backendId, connectMs);
    if (this.targets.has(key)) return;
    this.targets.set(key, target);
    let list = this.byBackend.get(backendId);
    if (list === undefined) this.byBackend.set(backendId, (list = []));
    list.push({ target, connectMs });
    for (const e of target.endpoints) this.keep(e);
  }

  /** Carries an endpoint over unchanged (endpoint updates of other backends). */
  keep(endpoint: UpstreamEndpoint): void {
    this.all.set(endpoint.key, endpoint);
  }

  targetsByBackend(): ReadonlyMap<string, ReadonlyArray<{ target: BackendTarget; connectMs: number }>> {
    return this.byBackend;
  }

  private endpoint(origin: string, tlsKey: string, tls: () => UpstreamTls | null, connectMs: number): UpstreamEndpoint {
    const key = `${origin}|${connectMs}|${tlsKey}`;
    const existing = this.all.get(key) ?? this.previous?.endpoints.get(key);
    if (existing !== undefined) {
      this.all.set(key, existing);
      return existing;
    }
    const address = origin.slice(origin.indexOf('//') + 2);
    let health = this.health.get(address);
    if (health === undefined) {
      health = new EndpointHealth();
      this.health.set(address, health);
    }
    const created = new UpstreamEndpoint(key, origin, address, health, connectMs, tls(), this.options.pools);
    this.all.set(key, created);
    return created;
  }
}

function formatIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

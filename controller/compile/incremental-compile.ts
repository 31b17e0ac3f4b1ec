// compile() with a CompileCache: the same output as the plain compile in compile.ts (the equivalence tests hold
// them to the same bytes), but the previous compile's per-resource results are kept, so a change costs work in
// proportion to what changed: a resource is judged again only when its object (or the last accepted version it
// falls back to) changed, compiled again only when that or what it looked up in the cluster changed, its
// conflicts re-decided only on the claim keys involved, its status rebuilt only when something it depends on
// changed. What stays linear in the number of resources is a pass of identity checks, joining the kept routes
// into the table array and hashing 32 bytes per route for the version.
import type { RoutingTable, TableAuthorizer, TableBackend, TableRatePolicy, TableRoute } from '../../proxy/table/table-schema.ts';
import { TABLE_SCHEMA_VERSION } from '../../proxy/table/table-schema.ts';
import { ClaimCandidate, ClaimIndex } from './claim-index.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { CompiledAuthorizer } from './authorizer-compiler.ts';
import { PolicyUses } from './policy-uses.ts';
import { compileRatePolicy } from './rate-policy-compiler.ts';
import type { CompileCache } from './compile-cache.ts';
import type { CompileInput, CompileOutput, JwksHealth, RawResource, ResourceKind, ResourceStatus } from './compile-types.ts';
import { judgeResource, type Judgement } from './judge-resource.ts';
import { compareResolutionKeys, orderOf, resolutionKey, type ResolutionKey } from './resolution-order.ts';
import { cmp, compareResourceIds, resourceKey, type ResourceId } from './resource-key.ts';
import { resourceStatus } from './resource-status.ts';
import type { RefLookup, RefTargetState } from './route-references.ts';
import type { CompiledApiRoute } from './route-compiler.ts';
import { SortedList } from './sorted-list.ts';
import { headerDigest, routeDigest, versionFromDigests } from './table-hash.ts';
import { assembleTls, type TlsOutcome, type TlsRouteInput } from './tls-assembly.ts';
import { defaultCertificateOf, withServedCertificates } from './tls-input.ts';
import type { TableCertificate, TableTlsHost } from '../../proxy/table/table-schema.ts';

interface StatusDeps {
  judgement: Judgement;
  compiled: CompiledApiRoute | undefined;
  conflicts: readonly string[];
  refs: { kind: ResourceKind; namespace: string; name: string; state: RefTargetState }[];
  authorizer: CompiledAuthorizer | undefined;
  /** JWKS health entries looked up, by source key (entries are replaced when they change, so identity tells). */
  jwks: Array<{ key: string; health: JwksHealth | undefined }>;
  /** What the TLS assembly said about it, as JSON ("" for nothing). */
  tls: string;
}

interface Entry {
  id: ResourceId;
  key: string;
  /** The one raw object judged (undefined when the key was listed more than once: judged every time). */
  raw: unknown;
  /** lastAccepted's object for this key when judged (an invalid object falls back to it). */
  previous: unknown;
  judgement: Judgement;
  compiled: CompiledApiRoute | undefined;
  /** The served ApiRoute object and cluster index `compiled` came from: the same pair needs no cache lookup. */
  compiledFrom: unknown;
  compiledWith: ClusterIndex | undefined;
  /** Set while the entry is in resolution order (a served ApiRoute). */
  rank: ResolutionKey | undefined;
  candidates: ClaimCandidate[];
  /** Its routes that won their claims, their digests joined, and the backend ids they use. */
  routes: TableRoute[];
  digests: Buffer;
  backendIds: string[];
  /** A served Authorizer's compile (the same object while its inputs are; its table is null when not enforceable). */
  authorizer: CompiledAuthorizer | undefined;
  /** The authorizer ids its winning routes use. */
  authorizerIds: string[];
  /** A served RatePolicy's compile (the same object while the policy's object is). */
  ratePolicy: TableRatePolicy | undefined;
  /** The rate policy ids its winning routes use. */
  ratePolicyIds: string[];
  conflicts: string[];
  status: ResourceStatus | undefined;
  statusDeps: StatusDeps | undefined;
  seen: number;
  /** The compile that last found its key in the input (to tell a key listed twice). */
  listed: number;
}

const NO_DIGESTS = Buffer.alloc(0);

export class IncrementalCompiler {
  readonly #cache: CompileCache;
  readonly #entries = new Map<string, Entry>();
  /** Each RawResource's key, built once: a fresh string is hashed again on every Map lookup. */
  readonly #keys = new WeakMap<RawResource, string>();
  readonly #claims = new ClaimIndex();
  readonly #resolution = new SortedList<Entry>((a, b) => compareResolutionKeys(a.rank as ResolutionKey, b.rank as ResolutionKey));
  readonly #statusOrder = new SortedList<Entry>((a, b) => compareResourceIds(a.id, b.id));
  readonly #backends = new Map<string, { backend: TableBackend; uses: number }>();
  /** Route uses per id: only used authorizers and rate policies go into the table. */
  readonly #authorizerUses = new PolicyUses();
  readonly #ratePolicyUses = new PolicyUses();
  #sequence = 0;
  #previous: { table: RoutingTable; header: Buffer; statuses: ResourceStatus[]; accepted: Map<string, unknown> } | undefined;

  constructor(cache: CompileCache) {
    this.#cache = cache;
  }

  compile(input: CompileInput): CompileOutput {
    const seq = ++this.#sequence;
    const cluster = this.#cache.clusterIndex(input);
    const touched = new Set<Entry>();
    let membershipChanged = false;
    let authorizersChanged = false;
    let ratePoliciesChanged = false;
    const acceptedChanged = new Set<Entry>();
    for (const [key, group, known] of this.#groups(input.resources, seq)) {
      const first = group[0] as RawResource;
      let entry = known;
      const judgement = this.#judge(key, group, entry, input.lastAccepted);
      if (entry === undefined) {
        entry = newEntry(judgement, key);
        this.#entries.set(key, entry);
        this.#statusOrder.insert(entry);
        membershipChanged = true;
      }
      if (entry.judgement.served?.object !== judgement.served?.object) acceptedChanged.add(entry);
      entry.raw = group.length === 1 ? first.object : undefined;
      entry.previous = input.lastAccepted?.get(key);
      entry.judgement = judgement;
      entry.seen = seq;
      const served = judgement.served;
      // The common case, an unchanged route in an unchanged cluster, skips the cache's WeakMap lookup (~6 ms per
      // compile at 17k ApiRoutes): the cache would hand back this same object.
      let compiled: CompiledApiRoute | undefined;
      if (served?.kind !== 'ApiRoute') compiled = undefined;
      else if (entry.compiledFrom === served.object && entry.compiledWith === cluster) {
        compiled = entry.compiled;
        this.#cache.stats.routeHits++;
      } else compiled = this.#cache.compileApiRoute(served.object, cluster);
      entry.compiledFrom = served?.kind === 'ApiRoute' ? served.object : undefined;
      entry.compiledWith = cluster;
      if (compiled !== entry.compiled) {
        this.#replaceCandidates(entry, compiled, served?.kind === 'ApiRoute' ? served.object.metadata : undefined);
        touched.add(entry);
      }
      const authorizer = served?.kind === 'Authorizer' ? this.#cache.compileAuthorizer(served.object, cluster) : undefined;
      if ((authorizer?.table ?? null) !== (entry.authorizer?.table ?? null)) authorizersChanged = true;
      entry.authorizer = authorizer;
      const ratePolicy = served?.kind === 'RatePolicy' ? compileRatePolicy(served.object) : undefined;
      if (ratePolicy !== entry.ratePolicy) ratePoliciesChanged = true;
      entry.ratePolicy = ratePolicy;
    }
    let tableChanged = touched.size > 0;
    let backendsChanged = false;
    for (const [key, entry] of this.#entries) {
      if (entry.seen === seq) continue;
      this.#replaceCandidates(entry, undefined, undefined);
      if (this.#useBackends(entry, [], undefined)) backendsChanged = true;
      if (this.#useAuthorizers(entry, NO_IDS) || (entry.authorizer?.table ?? null) !== null) authorizersChanged = true;
      if (this.#useRatePolicies(entry, NO_IDS) || entry.ratePolicy !== undefined) ratePoliciesChanged = true;
      this.#entries.delete(key);
      this.#statusOrder.remove(entry);
      membershipChanged = true;
      tableChanged = true;
    }

    for (const c of this.#claims.resolve()) {
      const entry = this.#entries.get(resourceKey({ kind: 'ApiRoute', ...c.owner }));
      if (entry) touched.add(entry);
    }
    for (const entry of touched) {
      if (entry.seen !== seq) continue;
      entry.routes = entry.candidates.filter((c) => c.won).map((c) => c.route);
      entry.conflicts = entry.candidates.flatMap((c) => (c.loss === undefined ? [] : [c.loss]));
      entry.digests = entry.routes.length === 0 ? NO_DIGESTS : Buffer.concat(entry.routes.map(routeDigest));
      if (this.#useBackends(entry, usedBackendIds(entry.routes), entry.compiled)) backendsChanged = true;
      if (this.#useAuthorizers(entry, usedAuthorizerIds(entry.routes))) authorizersChanged = true;
      if (this.#useRatePolicies(entry, usedRatePolicyIds(entry.routes))) ratePoliciesChanged = true;
    }

    // TLS is assembled afresh each time from the few routes with spec.tls (the Secret checks are memoised).
    const tlsRoutes: TlsRouteInput[] = [];
    for (const entry of this.#resolution.items) {
      const tls = entry.compiled?.tls;
      if (tls) tlsRoutes.push({ owner: `${entry.id.namespace}/${entry.id.name}`, tls });
    }
    const tls = assembleTls(tlsRoutes, defaultCertificateOf(input, cluster), input.lastAccepted, input.now);
    const tlsChanged = this.#previous === undefined || !sameTls(this.#previous.table, tls);
    const { table, header } =
      tableChanged || backendsChanged || authorizersChanged || ratePoliciesChanged || tlsChanged || this.#previous === undefined
        ? this.#assemble(backendsChanged, authorizersChanged, ratePoliciesChanged, tlsChanged, tls)
        : this.#previous;
    const statusesChanged = this.#refreshStatuses(input.jwksHealth, tls);
    const statuses =
      statusesChanged || membershipChanged || this.#previous === undefined ? this.#statusOrder.items.map((e) => e.status as ResourceStatus) : this.#previous.statuses;
    const accepted = this.#previous === undefined || membershipChanged ? this.#accepted() : acceptedChanged.size > 0 ? this.#updatedAccepted(this.#previous.accepted, acceptedChanged) : this.#previous.accepted;
    this.#previous = { table, header, statuses, accepted };
    return { table, statuses, accepted: withServedCertificates(accepted, tls.served), defaultCertificateProblem: tls.defaultProblem };
  }

  /**
   * The resources grouped by key in first-seen order, each with its entry (if it has one), as groupByKey would group
   * them but without a map of every key on every compile: a key is listed once nearly always, so the entries (marked
   * with `listed`) tell repeats apart and only the few new keys need a set.
   */
  *#groups(resources: readonly RawResource[], seq: number): Generator<[string, RawResource[], Entry | undefined]> {
    const keys: string[] = new Array<string>(resources.length);
    const known: Array<Entry | undefined> = new Array<Entry | undefined>(resources.length);
    let fresh: Set<string> | undefined;
    let repeated: Map<string, RawResource[]> | undefined;
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i] as RawResource;
      const key = this.#keyOf(r);
      keys[i] = key;
      const entry = this.#entries.get(key);
      known[i] = entry;
      const again = entry !== undefined ? entry.listed === seq : fresh?.has(key) === true;
      if (entry !== undefined) entry.listed = seq;
      else (fresh ??= new Set()).add(key);
      if (again) (repeated ??= new Map()).set(key, []);
    }
    if (repeated !== undefined) for (let i = 0; i < resources.length; i++) repeated.get(keys[i] as string)?.push(resources[i] as RawResource);
    const yielded = repeated && new Set<string>();
    for (let i = 0; i < resources.length; i++) {
      const key = keys[i] as string;
      const group = repeated?.get(key);
      if (group === undefined) yield [key, [resources[i] as RawResource], known[i]];
      else if (!yielded?.has(key)) {
        yielded?.add(key); // later listings of a repeated key go with its first
        yield [key, group, known[i]];
      }
    }
  }

  #keyOf(r: RawResource): string {
    let key = this.#keys.get(r);
    if (key === undefined) this.#keys.set(r, (key = resourceKey(r)));
    return key;
  }

  #judge(key: string, group: RawResource[], entry: Entry | undefined, lastAccepted: ReadonlyMap<string, unknown> | undefined): Judgement {
    const raw = group.length === 1 ? (group[0] as RawResource).object : undefined;
    // Reused when the same object is judged again and, if it is invalid, falls back to the same last accepted one.
    if (entry && raw !== undefined && entry.raw === raw && (entry.judgement.problems.length === 0 || lastAccepted?.get(key) === entry.previous)) return entry.judgement;
    return judgeResource(group, lastAccepted, (id, object) => this.#cache.validate(id, object));
  }

  #replaceCandidates(entry: Entry, compiled: CompiledApiRoute | undefined, metadata: { namespace: string; name: string; creationTimestamp?: string | undefined } | undefined): void {
    for (const c of entry.candidates) this.#claims.remove(c);
    if (entry.rank !== undefined) this.#resolution.remove(entry);
    entry.rank = undefined;
    entry.compiled = compiled;
    entry.candidates = [];
    if (compiled === undefined || metadata === undefined) return;
    const rank = resolutionKey(orderOf(metadata));
    entry.rank = rank;
    this.#resolution.insert(entry);
    const owner = { namespace: entry.id.namespace, name: entry.id.name };
    entry.candidates = compiled.candidates.map((c, i) => new ClaimCandidate(c, owner, rank, i));
    for (const c of entry.candidates) this.#claims.add(c);
  }

  /** Moves the entry's backend uses to `ids`; true when the table's backends (set or objects) changed. */
  #useBackends(entry: Entry, ids: string[], compiled: CompiledApiRoute | undefined): boolean {
    let changed = false;
    for (const id of entry.backendIds) {
      const used = this.#backends.get(id);
      if (used && --used.uses === 0) {
        this.#backends.delete(id);
        changed = true;
      }
    }
    for (const id of ids) {
      // Within one compile every backend with an id has the same content (it is resolved from the same cluster).
      const backend = compiled?.backends.find((b) => b.id === id);
      if (backend === undefined) continue;
      const used = this.#backends.get(id);
      if (used === undefined) {
        this.#backends.set(id, { backend, uses: 1 });
        changed = true;
      } else {
        used.uses++;
        if (used.backend !== backend) {
          used.backend = backend;
          changed = true;
        }
      }
    }
    entry.backendIds = ids;
    return changed;
  }

  /** Moves the entry's authorizer uses to `ids`; true when the set of used authorizers changed. */
  #useAuthorizers(entry: Entry, ids: string[]): boolean {
    const changed = this.#authorizerUses.move(entry.authorizerIds, ids);
    entry.authorizerIds = ids;
    return changed;
  }

  /** Moves the entry's rate policy uses to `ids`; true when the set of used rate policies changed. */
  #useRatePolicies(entry: Entry, ids: string[]): boolean {
    const changed = this.#ratePolicyUses.move(entry.ratePolicyIds, ids);
    entry.ratePolicyIds = ids;
    return changed;
  }

  /** The served entry of each used id of `kind` for which `pick` gives a table item, sorted by id. */
  #used<T extends { id: string }>(uses: PolicyUses, kind: ResourceKind, pick: (entry: Entry) => T | null | undefined): T[] {
    const out: T[] = [];
    for (const id of uses.ids()) {
      const slash = id.indexOf('/');
      const entry = this.#entries.get(resourceKey({ kind, namespace: id.slice(0, slash), name: id.slice(slash + 1) }));
      const item = entry && pick(entry);
      if (item) out.push(item);
    }
    return out.sort((a, b) => cmp(a.id, b.id));
  }

  #assemble(backendsChanged: boolean, authorizersChanged: boolean, ratePoliciesChanged: boolean, tlsChanged: boolean, tls: TlsOutcome): { table: RoutingTable; header: Buffer } {
    const routes: TableRoute[] = [];
    const digests: Buffer[] = [];
    for (const entry of this.#resolution.items) {
      for (const r of entry.routes) routes.push(r);
      digests.push(entry.digests);
    }
    const backends =
      backendsChanged || this.#previous === undefined
        ? [...this.#backends.values()].map((b) => b.backend).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        : this.#previous.table.backends;
    const authorizers: TableAuthorizer[] =
      authorizersChanged || this.#previous === undefined ? this.#used(this.#authorizerUses, 'Authorizer', (e) => e.authorizer?.table) : this.#previous.table.authorizers;
    const ratePolicies: TableRatePolicy[] =
      ratePoliciesChanged || this.#previous === undefined ? this.#used(this.#ratePolicyUses, 'RatePolicy', (e) => e.ratePolicy) : this.#previous.table.ratePolicies;
    const certificates: TableCertificate[] = tlsChanged || this.#previous === undefined ? tls.certificates : this.#previous.table.certificates;
    const tlsHosts: TableTlsHost[] = tlsChanged || this.#previous === undefined ? tls.tlsHosts : this.#previous.table.tlsHosts;
    const header =
      backendsChanged || authorizersChanged || ratePoliciesChanged || tlsChanged || this.#previous === undefined
        ? headerDigest({ schema: TABLE_SCHEMA_VERSION, routes, backends, authorizers, ratePolicies, certificates, tlsHosts })
        : this.#previous.header;
    return { table: { schema: TABLE_SCHEMA_VERSION, version: versionFromDigests(header, digests), routes, backends, authorizers, ratePolicies, certificates, tlsHosts }, header };
  }

  /** Rebuilds the statuses whose inputs changed; true when any did. */
  #refreshStatuses(jwksHealth: ReadonlyMap<string, JwksHealth> | undefined, tls: TlsOutcome): boolean {
    const lookup: RefLookup = (kind, namespace, name) => {
      const e = this.#entries.get(resourceKey({ kind, namespace, name }));
      return e === undefined ? 'missing' : e.judgement.served ? 'served' : 'not-accepted';
    };
    let changed = false;
    for (const entry of this.#entries.values()) {
      const deps = entry.statusDeps;
      const said = entry.id.kind === 'ApiRoute' && tls.routes.size > 0 ? tls.routes.get(`${entry.id.namespace}/${entry.id.name}`) : undefined;
      const tlsKey = said === undefined ? '' : JSON.stringify(said);
      if (
        deps &&
        deps.tls === tlsKey &&
        deps.judgement === entry.judgement &&
        deps.compiled === entry.compiled &&
        sameStrings(deps.conflicts, entry.conflicts) &&
        deps.refs.every((r) => lookup(r.kind, r.namespace, r.name) === r.state) &&
        deps.authorizer === entry.authorizer &&
        deps.jwks.every((h) => jwksHealth?.get(h.key) === h.health)
      ) {
        continue;
      }
      this.#cache.stats.statusMisses++;
      const next: StatusDeps = { judgement: entry.judgement, compiled: entry.compiled, conflicts: entry.conflicts, refs: [], authorizer: entry.authorizer, jwks: [], tls: tlsKey };
      const recordingLookup: RefLookup = (kind, namespace, name) => {
        const state = lookup(kind, namespace, name);
        next.refs.push({ kind, namespace, name, state });
        return state;
      };
      const recordingHealth = (key: string): JwksHealth | undefined => {
        const health = jwksHealth?.get(key);
        next.jwks.push({ key, health });
        return health;
      };
      const conflicts = said === undefined || said.conflicts.length === 0 ? entry.conflicts : [...entry.conflicts, ...said.conflicts];
      entry.status = resourceStatus(entry.judgement, entry.compiled, entry.authorizer, conflicts, recordingLookup, recordingHealth, said?.problems);
      entry.statusDeps = next;
      changed = true;
    }
    return changed;
  }

  /** The previous map with some keys' objects replaced or dropped (the same keys stay in the same order). */
  #updatedAccepted(previous: ReadonlyMap<string, unknown>, changed: ReadonlySet<Entry>): Map<string, unknown> {
    const accepted = new Map(previous);
    for (const entry of changed) {
      const object = entry.judgement.served?.object;
      if (object !== undefined && !accepted.has(entry.key)) return this.#accepted(); // a newly served key: rebuild in order
      if (object === undefined) accepted.delete(entry.key);
      else accepted.set(entry.key, object);
    }
    return accepted;
  }

  #accepted(): Map<string, unknown> {
    const accepted = new Map<string, unknown>();
    for (const entry of this.#statusOrder.items) if (entry.judgement.served) accepted.set(entry.key, entry.judgement.served.object);
    return accepted;
  }
}

function newEntry(judgement: Judgement, key: string): Entry {
  return {
    id: judgement.id,
    key,
    raw: undefined,
    previous: undefined,
    judgement,
    compiled: undefined,
    compiledFrom: undefined,
    compiledWith: undefined,
    rank: undefined,
    candidates: [],
    routes: [],
    digests: NO_DIGESTS,
    backendIds: [],
    authorizer: undefined,
    authorizerIds: [],
    ratePolicy: undefined,
    ratePolicyIds: [],
    conflicts: [],
    status: undefined,
    statusDeps: undefined,
    seen: 0,
    listed: 0,
  };
}

function usedBackendIds(routes: readonly TableRoute[]): string[] {
  const ids = new Set<string>();
  for (const r of routes) {
    for (const b of r.backends ?? []) ids.add(b.backend);
    for (const b of r.canary?.backends ?? []) ids.add(b.backend);
  }
  return [...ids];
}

const NO_IDS: string[] = [];

function usedAuthorizerIds(routes: readonly TableRoute[]): string[] {
  const ids = new Set<string>();
  for (const r of routes) if (r.auth) ids.add(r.auth.authorizer);
  return ids.size === 0 ? NO_IDS : [...ids];
}

function usedRatePolicyIds(routes: readonly TableRoute[]): string[] {
  const ids = new Set<string>();
  for (const r of routes) for (const p of r.ratePolicies ?? []) ids.add(p);
  return ids.size === 0 ? NO_IDS : [...ids];
}

/** Whether the table's TLS part is the one just assembled (certificates as the same objects, hosts by content). */
function sameTls(table: RoutingTable, tls: TlsOutcome): boolean {
  if (table.certificates.length !== tls.certificates.length || table.tlsHosts.length !== tls.tlsHosts.length) return false;
  if (!table.certificates.every((c, i) => c === tls.certificates[i])) return false;
  return JSON.stringify(table.tlsHosts) === JSON.stringify(tls.tlsHosts);
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

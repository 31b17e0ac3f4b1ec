// An optional memo for long-running callers (the controller compiles the same 10k resources again on every
// change). It never changes what compile returns, only how much work it redoes:
// - validation, per raw object (by identity): an informer hands back the same object until it changes;
// - an ApiRoute's compiled routes, per validated object, for as long as the Services and EndpointSlices it
//   looked up are the same objects (a source must hand in identical objects for unchanged ones to hit);
// - the previous compile's per-resource results, so the next one redoes judging, conflict resolution, statuses,
//   table assembly and hashing only for what changed (incremental-compile.ts).
// Per-object entries are keyed by identity in WeakMaps, so replaced objects are collected with their entries.
// The contract for callers: objects passed in are never mutated afterwards.
import type { ApiRoute, Authorizer } from '../../crds/schemas/index.ts';
import type { TableBackend } from '../../proxy/table/table-schema.ts';
import { indexCluster, type ClusterIndex } from './cluster-index.ts';
import { recordingCluster, sameLookups, type ClusterLookup } from './cluster-lookups.ts';
import type { CompileInput, CompileOutput } from './compile-types.ts';
import { IncrementalCompiler } from './incremental-compile.ts';
import { compileApiRoute, type CompiledApiRoute } from './route-compiler.ts';
import { compileAuthorizer, type CompiledAuthorizer } from './authorizer-compiler.ts';
import { resourceKey, type ResourceId } from './resource-key.ts';
import { validateResource, type ValidationResult } from './validate-resource.ts';

type ClusterInput = Pick<CompileInput, 'services' | 'endpointSlices' | 'secrets' | 'configMaps' | 'files'>;

export class CompileCache {
  readonly #validations = new WeakMap<object, { key: string; result: ValidationResult }>();
  readonly #routes = new WeakMap<ApiRoute, { compiled: CompiledApiRoute; lookups: ClusterLookup[]; checkedWith: ClusterIndex }>();
  readonly #authorizers = new WeakMap<Authorizer, { compiled: CompiledAuthorizer; lookups: ClusterLookup[]; checkedWith: ClusterIndex }>();
  #cluster: { input: ClusterInput; index: ClusterIndex } | undefined;
  /** Resolved backends by content, shared by the routes compiled against the current cluster index. */
  #backendPool = new Map<string, TableBackend>();
  readonly #incremental = new IncrementalCompiler(this);
  readonly stats = { validationHits: 0, validationMisses: 0, routeHits: 0, routeMisses: 0, statusMisses: 0 };

  /** compile(input) with this cache (what compile() calls when given one). */
  compile(input: CompileInput): CompileOutput {
    return this.#incremental.compile(input);
  }

  validate(id: ResourceId, object: unknown): ValidationResult {
    if (typeof object !== 'object' || object === null) return validateResource(id, object);
    const key = resourceKey(id);
    const hit = this.#validations.get(object);
    if (hit && hit.key === key) {
      this.stats.validationHits++;
      return hit.result;
    }
    this.stats.validationMisses++;
    const result = validateResource(id, object);
    this.#validations.set(object, { key, result });
    return result;
  }

  /**
   * The ClusterIndex of this input; the previous one while the Services, EndpointSlices, Secrets and ConfigMaps are
   * the same objects in the same order and the body files the same map, so lookups checked against it need no
   * checking again.
   */
  clusterIndex(input: ClusterInput): ClusterIndex {
    const prev = this.#cluster;
    if (
      prev &&
      sameItems(prev.input.services, input.services) &&
      sameItems(prev.input.endpointSlices, input.endpointSlices) &&
      sameItems(prev.input.secrets, input.secrets) &&
      sameItems(prev.input.configMaps, input.configMaps) &&
      prev.input.files === input.files
    ) {
      return prev.index;
    }
    const index = indexCluster(input);
    this.#backendPool = new Map();
    const { services, endpointSlices, secrets, configMaps, files } = input;
    this.#cluster = { input: { services, endpointSlices, secrets, configMaps, files }, index };
    return index;
  }

  /** Whether lookups recorded against `checkedWith` give the same answers in `cluster`. */
  stillValid(lookups: readonly ClusterLookup[], checkedWith: ClusterIndex, cluster: ClusterIndex): boolean {
    return checkedWith === cluster || sameLookups(lookups, cluster);
  }

  /** The same result object while the Authorizer and the Secrets and Services it looked up are the same objects. */
  compileAuthorizer(authorizer: Authorizer, cluster: ClusterIndex): CompiledAuthorizer {
    const hit = this.#authorizers.get(authorizer);
    if (hit && this.stillValid(hit.lookups, hit.checkedWith, cluster)) {
      hit.checkedWith = cluster;
      return hit.compiled;
    }
    const lookups: ClusterLookup[] = [];
    const compiled = compileAuthorizer(authorizer, recordingCluster(cluster, lookups));
    this.#authorizers.set(authorizer, { compiled, lookups, checkedWith: cluster });
    return compiled;
  }

  compileApiRoute(apiRoute: ApiRoute, cluster: ClusterIndex): CompiledApiRoute {
    const hit = this.#routes.get(apiRoute);
    if (hit && this.stillValid(hit.lookups, hit.checkedWith, cluster)) {
      this.stats.routeHits++;
      hit.checkedWith = cluster;
      return hit.compiled;
    }
    this.stats.routeMisses++;
    const lookups: ClusterLookup[] = [];
    const compiled = compileApiRoute(apiRoute, recordingCluster(cluster, lookups), this.#backendPool);
    this.#routes.set(apiRoute, { compiled, lookups, checkedWith: cluster });
    return compiled;
  }
}

function sameItems<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

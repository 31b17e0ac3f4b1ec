// An optional memo for long-running callers (the controller compiles the same 10k resources again on every
// change). It never changes what compile returns, only how much work it redoes:
// - validation, per raw object (by identity): an informer hands back the same object until it changes;
// - an ApiRoute's compiled routes, per validated object, for as long as the Services and EndpointSlices it
//   looked up are the same objects (a sources must hand in identical objects for unchanged ones to hit);
// - each table route's canonical JSON (for the table hash) and its conflict claim keys.
// Everything is keyed by object identity in WeakMaps, so replaced objects are collected with their entries.
// The contract for callers: objects passed in are never mutated afterwards.
import type { TableRoute } from '../../proxy/table/table-schema.ts';
import type { ApiRoute } from '../../crds/schemas/index.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { EndpointSliceInfo, SecretInfo, ServiceInfo } from './compile-types.ts';
import { claimKeys, type ClaimKey } from './conflict-resolver.ts';
import { compileApiRoute, type CompiledApiRoute } from './route-compiler.ts';
import { resourceKey, type ResourceId } from './resource-key.ts';
import { stableJson } from './stable-json.ts';
import { validateResource, type ValidationResult } from './validate-resource.ts';

type Lookup =
  | { what: 'service'; namespace: string; name: string; result: ServiceInfo | undefined }
  | { what: 'slices'; namespace: string; name: string; result: readonly EndpointSliceInfo[] }
  | { what: 'secret'; namespace: string; name: string; result: SecretInfo | undefined }
  | { what: 'secretsIn'; namespace: string; name: ''; result: readonly SecretInfo[] };

export class CompileCache {
  readonly #validations = new WeakMap<object, { key: string; result: ValidationResult }>();
  readonly #routes = new WeakMap<ApiRoute, { compiled: CompiledApiRoute; lookups: Lookup[] }>();
  readonly #routeJson = new WeakMap<TableRoute, string>();
  readonly #claimKeys = new WeakMap<TableRoute, readonly ClaimKey[]>();
  readonly stats = { validationHits: 0, validationMisses: 0, routeHits: 0, routeMisses: 0 };

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

  compileApiRoute(apiRoute: ApiRoute, cluster: ClusterIndex): CompiledApiRoute {
    const hit = this.#routes.get(apiRoute);
    if (hit && hit.lookups.every((l) => sameLookup(l, cluster))) {
      this.stats.routeHits++;
      return hit.compiled;
    }
    this.stats.routeMisses++;
    const lookups: Lookup[] = [];
    const compiled = compileApiRoute(apiRoute, recording(cluster, lookups));
    this.#routes.set(apiRoute, { compiled, lookups });
    return compiled;
  }

  claimKeys(route: TableRoute): readonly ClaimKey[] {
    let keys = this.#claimKeys.get(route);
    if (keys === undefined) {
      keys = claimKeys(route);
      this.#claimKeys.set(route, keys);
    }
    return keys;
  }

  routeJson(route: TableRoute): string {
    let json = this.#routeJson.get(route);
    if (json === undefined) {
      json = stableJson(route);
      this.#routeJson.set(route, json);
    }
    return json;
  }
}

function recording(cluster: ClusterIndex, lookups: Lookup[]): ClusterIndex {
  return {
    service: (namespace, name) => {
      const result = cluster.service(namespace, name);
      lookups.push({ what: 'service', namespace, name, result });
      return result;
    },
    slicesOf: (namespace, name) => {
      const result = cluster.slicesOf(namespace, name);
      lookups.push({ what: 'slices', namespace, name, result: [...result] });
      return result;
    },
    secret: (namespace, name) => {
      const result = cluster.secret(namespace, name);
      lookups.push({ what: 'secret', namespace, name, result });
      return result;
    },
    secretsIn: (namespace) => {
      const result = cluster.secretsIn(namespace);
      lookups.push({ what: 'secretsIn', namespace, name: '', result: [...result] });
      return result;
    },
  };
}

function sameLookup(l: Lookup, cluster: ClusterIndex): boolean {
  switch (l.what) {
    case 'service':
      return cluster.service(l.namespace, l.name) === l.result;
    case 'secret':
      return cluster.secret(l.namespace, l.name) === l.result;
    case 'slices':
      return sameItems(cluster.slicesOf(l.namespace, l.name), l.result);
    case 'secretsIn':
      return sameItems(cluster.secretsIn(l.namespace), l.result);
  }
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

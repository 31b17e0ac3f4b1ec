// An optional memo for long-running callers (the controller compiles the same 10k resources again on every
// change). It never changes what compile returns, only how much work it redoes:
// - validation, per raw object (by identity): an informer hands back the same object until it changes;
// - an ApiRoute's compiled routes, per validated object, for as long as the Services and EndpointSlices it
//   looked up are the same objects (a sources must hand in identical objects for unchanged ones to hit);
// - each table route's canonical JSON and its conflict claim keys;
// - the table hash's SHA-256 state every HASH_CHUNK routes, so the next hash resumes from the last checkpoint
//   before the first route that changed (a new route sorts last: only the tail is hashed again).
// Everything is keyed by object identity in WeakMaps, so replaced objects are collected with their entries.
// The contract for callers: objects passed in are never mutated afterwards.
import { createHash, type Hash } from 'node:crypto';
import type { RoutingTable, TableRoute } from '../../proxy/table/table-schema.ts';
import type { ApiRoute } from '../../crds/schemas/index.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { EndpointSliceInfo, SecretInfo, ServiceInfo } from './compile-types.ts';
import { claimKeys, type ClaimKey } from './conflict-resolver.ts';
import { compileApiRoute, type CompiledApiRoute } from './route-compiler.ts';
import { resourceKey, type ResourceId } from './resource-key.ts';
import { stableJson } from './stable-json.ts';
import { tableVersion } from './table-hash.ts';
import { validateResource, type ValidationResult } from './validate-resource.ts';

/** Routes per hash checkpoint: 30k routes keep ~120 SHA-256 states (about 100 bytes each). */
const HASH_CHUNK = 256;

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
  #hashed: { head: string; routes: readonly TableRoute[]; checkpoints: Hash[] } | undefined;
  readonly stats = { validationHits: 0, validationMisses: 0, routeHits: 0, routeMisses: 0, routeJsonMisses: 0 };

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

  /** The same value as tableVersion(content), hashing only what follows the last unchanged checkpoint. */
  tableVersion(content: Omit<RoutingTable, 'version'>): string {
    const keys = Object.keys(content).sort();
    if (keys.join() !== 'backends,routes,schema') return tableVersion(content, (r) => this.routeJson(r));
    // The bytes are those of stableJson(content): keys in sorted order, routes joined by commas.
    const head = `{"backends":${stableJson(content.backends)},"routes":[`;
    const tail = `],"schema":${stableJson(content.schema)}}`;
    const routes = content.routes;
    const prev = this.#hashed;
    // checkpoints[c] is the state after the head and routes[0 .. c·HASH_CHUNK).
    let checkpoints: Hash[] = [];
    let chunk = 0;
    if (prev && prev.head === head) {
      let same = 0;
      const max = Math.min(prev.routes.length, routes.length);
      while (same < max && prev.routes[same] === routes[same]) same++;
      chunk = Math.min(Math.floor(same / HASH_CHUNK), prev.checkpoints.length - 1);
      checkpoints = prev.checkpoints.slice(0, chunk + 1);
    }
    if (checkpoints.length === 0) {
      const start = createHash('sha256');
      start.update(head);
      checkpoints = [start];
      chunk = 0;
    }
    const hash = (checkpoints[chunk] as Hash).copy();
    for (let from = chunk * HASH_CHUNK; from < routes.length; from += HASH_CHUNK) {
      const part = routes.slice(from, from + HASH_CHUNK).map((r) => this.routeJson(r));
      hash.update(from === 0 ? part.join(',') : `,${part.join(',')}`);
      if (from + HASH_CHUNK <= routes.length) checkpoints.push(hash.copy());
    }
    this.#hashed = { head, routes, checkpoints };
    hash.update(tail);
    return hash.digest('hex').slice(0, 32);
  }

  routeJson(route: TableRoute): string {
    let json = this.#routeJson.get(route);
    if (json === undefined) {
      this.stats.routeJsonMisses++;
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

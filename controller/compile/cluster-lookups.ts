// Records what a computation looked up in the ClusterIndex, so a cached result can be reused for as long as every
// lookup still returns the same objects (sources hand in identical objects for unchanged ones).
import type { ClusterIndex } from './cluster-index.ts';
import type { BodyFileRead, EndpointSliceInfo, SecretInfo, ServiceInfo } from './compile-types.ts';

export type ClusterLookup =
  | { what: 'service'; namespace: string; name: string; result: ServiceInfo | undefined }
  | { what: 'slices'; namespace: string; name: string; result: readonly EndpointSliceInfo[] }
  | { what: 'secret'; namespace: string; name: string; result: SecretInfo | undefined }
  | { what: 'secretsIn'; namespace: string; name: ''; result: readonly SecretInfo[] }
  | { what: 'file'; namespace: ''; name: string; result: BodyFileRead | undefined };

/**
 * A ClusterIndex that answers as `cluster` does and appends each distinct lookup to `lookups`. Results are kept by
 * reference (the index's lists are never changed once built), and a lookup repeated (one per backend of the same
 * Service) is recorded once: the compile cache keeps these lists for every ApiRoute.
 */
export function recordingCluster(cluster: ClusterIndex, lookups: ClusterLookup[]): ClusterIndex {
  const record = (lookup: ClusterLookup): void => {
    if (!lookups.some((l) => l.what === lookup.what && l.namespace === lookup.namespace && l.name === lookup.name)) lookups.push(lookup);
  };
  return {
    service: (namespace, name) => {
      const result = cluster.service(namespace, name);
      record({ what: 'service', namespace, name, result });
      return result;
    },
    slicesOf: (namespace, name) => {
      const result = cluster.slicesOf(namespace, name);
      record({ what: 'slices', namespace, name, result });
      return result;
    },
    secret: (namespace, name) => {
      const result = cluster.secret(namespace, name);
      record({ what: 'secret', namespace, name, result });
      return result;
    },
    secretsIn: (namespace) => {
      const result = cluster.secretsIn(namespace);
      record({ what: 'secretsIn', namespace, name: '', result });
      return result;
    },
    file: (path) => {
      const result = cluster.file(path);
      record({ what: 'file', namespace: '', name: path, result });
      return result;
    },
  };
}

export function sameLookups(lookups: readonly ClusterLookup[], cluster: ClusterIndex): boolean {
  return lookups.every((l) => sameLookup(l, cluster));
}

function sameLookup(l: ClusterLookup, cluster: ClusterIndex): boolean {
  switch (l.what) {
    case 'service':
      return cluster.service(l.namespace, l.name) === l.result;
    case 'secret':
      return cluster.secret(l.namespace, l.name) === l.result;
    case 'slices':
      return sameItems(cluster.slicesOf(l.namespace, l.name), l.result);
    case 'secretsIn':
      return sameItems(cluster.secretsIn(l.namespace), l.result);
    case 'file': {
      const now = cluster.file(l.name);
      return now === l.result || (now !== undefined && l.result !== undefined && JSON.stringify(now) === JSON.stringify(l.result));
    }
  }
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

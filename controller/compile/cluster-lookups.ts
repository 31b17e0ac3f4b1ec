// Records what a computation looked up in the ClusterIndex, so a cached result can be reused for as long as every
// lookup still returns the same objects (sources hand in identical objects for unchanged ones).
import type { ClusterIndex } from './cluster-index.ts';
import type { EndpointSliceInfo, SecretInfo, ServiceInfo } from './compile-types.ts';

export type ClusterLookup =
  | { what: 'service'; namespace: string; name: string; result: ServiceInfo | undefined }
  | { what: 'slices'; namespace: string; name: string; result: readonly EndpointSliceInfo[] }
  | { what: 'secret'; namespace: string; name: string; result: SecretInfo | undefined }
  | { what: 'secretsIn'; namespace: string; name: ''; result: readonly SecretInfo[] };

/** A ClusterIndex that answers as `cluster` does and appends each lookup to `lookups`. */
export function recordingCluster(cluster: ClusterIndex, lookups: ClusterLookup[]): ClusterIndex {
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
  }
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

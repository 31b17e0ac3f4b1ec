// What the kube source watches: for each kind, the watch path and the matching list call, per namespace or
// cluster-wide. Secrets and ConfigMaps are only ever watched through a label selector (the gateway never caches every
// Secret, nor every ConfigMap: some are large and most are none of its business).
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../crds/schemas/metadata.ts';
import type { ResourceKind } from '../compile/compile-types.ts';
import { listInPages, type PageFetch } from './kube-list-pages.ts';
import { slimObject } from './kube-slim-object.ts';

export type WatchedKind = ResourceKind | 'Service' | 'EndpointSlice' | 'Secret' | 'ConfigMap';
export const WATCHED_KINDS: readonly WatchedKind[] = ['ApiRoute', 'Authorizer', 'RatePolicy', 'Service', 'EndpointSlice', 'Secret', 'ConfigMap'];

/** The label selectors of the kinds watched through one. */
export interface WatchSelectors {
  secrets: string;
  configMaps: string;
}

const PLURALS: Record<ResourceKind, string> = { ApiRoute: 'apiroutes', Authorizer: 'authorizers', RatePolicy: 'ratepolicies' };

export interface WatchTarget {
  kind: WatchedKind;
  /** undefined: all namespaces. */
  namespace: string | undefined;
  path: string;
  labelSelector: string | undefined;
  list: () => Promise<KubernetesListObject<KubernetesObject>>;
}

export function watchTarget(kc: KubeConfig, kind: WatchedKind, namespace: string | undefined, selectors: WatchSelectors): WatchTarget {
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  const asList = (p: Promise<unknown>): Promise<KubernetesListObject<KubernetesObject>> => p as Promise<KubernetesListObject<KubernetesObject>>;
  const paged = (fetchPage: PageFetch) => (): Promise<KubernetesListObject<KubernetesObject>> => listInPages(fetchPage, slimObject);
  switch (kind) {
    case 'ApiRoute':
    case 'Authorizer':
    case 'RatePolicy': {
      const api = kc.makeApiClient(CustomObjectsApi);
      const plural = PLURALS[kind];
      return {
        kind,
        namespace,
        path: `/apis/${GROUP}/${VERSION}${ns}/${plural}`,
        labelSelector: undefined,
        list: paged((page) =>
          asList(
            namespace === undefined
              ? api.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, resourcePlural: plural, ...page })
              : api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, ...page }),
          ),
        ),
      };
    }
    case 'Service': {
      const api = kc.makeApiClient(CoreV1Api);
      return {
        kind,
        namespace,
        path: `/api/v1${ns}/services`,
        labelSelector: undefined,
        list: paged((page) => asList(namespace === undefined ? api.listServiceForAllNamespaces(page) : api.listNamespacedService({ namespace, ...page }))),
      };
    }
    case 'EndpointSlice': {
      const api = kc.makeApiClient(DiscoveryV1Api);
      return {
        kind,
        namespace,
        path: `/apis/discovery.k8s.io/v1${ns}/endpointslices`,
        labelSelector: undefined,
        list: paged((page) => asList(namespace === undefined ? api.listEndpointSliceForAllNamespaces(page) : api.listNamespacedEndpointSlice({ namespace, ...page }))),
      };
    }
    case 'Secret': {
      const api = kc.makeApiClient(CoreV1Api);
      const labelSelector = selectors.secrets;
      return {
        kind,
        namespace,
        path: `/api/v1${ns}/secrets`,
        labelSelector,
        list: paged((page) =>
          asList(namespace === undefined ? api.listSecretForAllNamespaces({ labelSelector, ...page }) : api.listNamespacedSecret({ namespace, labelSelector, ...page })),
        ),
      };
    }
    case 'ConfigMap': {
      const api = kc.makeApiClient(CoreV1Api);
      const labelSelector = selectors.configMaps;
      return {
        kind,
        namespace,
        path: `/api/v1${ns}/configmaps`,
        labelSelector,
        list: paged((page) =>
          asList(
            namespace === undefined ? api.listConfigMapForAllNamespaces({ labelSelector, ...page }) : api.listNamespacedConfigMap({ namespace, labelSelector, ...page }),
          ),
        ),
      };
    }
  }
}

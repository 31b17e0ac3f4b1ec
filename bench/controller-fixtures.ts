// The ApiRoutes the controller benchmark puts in the cluster: route i has its own host and three rules (exact,
// template, prefix) to one Service backend, so compile does real work (validation, path checks, backend
// resolution through an EndpointSlice) without conflicts between routes.
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { ControlPlane } from '../test/kube/control-plane.ts';
export const BENCH_NAMESPACE = 'bench';
export const BENCH_SERVICE = 'bench-backend';

export function benchApiRoute(i: number, marker = 'v0'): Record<string, unknown> {
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiRoute',
    metadata: { name: `route-${i}`, namespace: BENCH_NAMESPACE },
    spec: {
      hosts: [`api-${i}.bench.example.com`],
      rules: [
        { name: 'list', matches: [{ path: { type: 'Exact', value: '/items' }, methods: ['GET'] }], backends: [{ service: { name: BENCH_SERVICE, port: 80 } }] },
        {
          name: 'one',
          matches: [{ path: { type: 'Template', value: '/items/{id}' } }],
          backends: [{ service: { name: BENCH_SERVICE, port: 80 } }],
          requestHeaders: { set: { 'x-bench-marker': marker } },
        },
        { name: 'rest', matches: [{ path: { type: 'Prefix', value: '/' } }], backends: [{ service: { name: BENCH_SERVICE, port: 80 } }] },
      ],
    },
  };
}

export function benchService(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: BENCH_SERVICE, namespace: BENCH_NAMESPACE },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

export function benchEndpointSlice(): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${BENCH_SERVICE}-1`, namespace: BENCH_NAMESPACE, labels: { 'kubernetes.io/service-name': BENCH_SERVICE } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.0.0.1'], conditions: { ready: true } },
      { addresses: ['10.0.0.2'], conditions: { ready: true } },
    ],
  };
}

/** Create ApiRoutes `from`…`to`-1 in the bench namespace with `concurrency` requests in flight. */
export async function createBenchApiRoutes(api: CustomObjectsApi, from: number, to: number, concurrency: number): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const i = next++;
      await api.createNamespacedCustomObject({ group: 'gatehouse.dev', version: 'v1alpha1', namespace: BENCH_NAMESPACE, plural: 'apiroutes', body: benchApiRoute(i) });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** The bench namespace, its Service and EndpointSlice, and a client for creating ApiRoutes in it. */
export async function setupBenchCluster(cp: ControlPlane): Promise<{ kc: KubeConfig; api: CustomObjectsApi }> {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const setup = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: BENCH_NAMESPACE } }, benchService(), benchEndpointSlice()];
  const applied = await cp.kubectl(['apply', '-f', '-'], { stdin: setup.map((o) => stringify(o)).join('---\n') });
  if (applied.code !== 0) throw new Error(applied.stderr);
  return { kc, api: kc.makeApiClient(CustomObjectsApi) };
}

// Services, EndpointSlices and Secrets indexed by namespace and name, built once per compile
// so resolving thousands of backends stays linear.
import type { BodyFileRead, CompileInput, EndpointSliceInfo, SecretInfo, ServiceInfo } from './compile-types.ts';

export interface ClusterIndex {
  service(namespace: string, name: string): ServiceInfo | undefined;
  slicesOf(namespace: string, serviceName: string): readonly EndpointSliceInfo[];
  secret(namespace: string, name: string): SecretInfo | undefined;
  secretsIn(namespace: string): readonly SecretInfo[];
  /** A direct-response body file (standalone mode); undefined when the source has no files (a cluster). */
  file(path: string): BodyFileRead | undefined;
}

export function indexCluster(input: Pick<CompileInput, 'services' | 'endpointSlices' | 'secrets' | 'files'>): ClusterIndex {
  const services = new Map<string, ServiceInfo>();
  for (const s of input.services ?? []) services.set(`${s.namespace}/${s.name}`, s);
  const slices = groupBy(input.endpointSlices ?? [], (s) => `${s.namespace}/${s.serviceName}`);
  const secrets = new Map<string, SecretInfo>();
  for (const s of input.secrets ?? []) secrets.set(`${s.namespace}/${s.name}`, s);
  const secretsByNs = groupBy(input.secrets ?? [], (s) => s.namespace);
  return {
    service: (ns, name) => services.get(`${ns}/${name}`),
    slicesOf: (ns, name) => slices.get(`${ns}/${name}`) ?? [],
    secret: (ns, name) => secrets.get(`${ns}/${name}`),
    secretsIn: (ns) => secretsByNs.get(ns) ?? [],
    file: (path) => (input.files === undefined ? undefined : (input.files.get(path) ?? { error: `file ${JSON.stringify(path)} not found in the config folder` })),
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

// Turns a backend reference into a table backend (a cluster, in Envoy's words).
// - `url:` → one endpoint; the URL's host becomes the upstream Host header.
// - `service:` → the ready addresses of the Service's EndpointSlices for the referenced port.
// An unresolvable reference still yields a backend, with no endpoints: its share of requests gets 503 from the
// proxy (as Gateway API answers for an invalid backendRef) and the route's other backends keep serving.
import type { Backend } from '../../crds/schemas/index.ts';
import type { TableBackend, TableBackendTls, TableEndpoint } from '../../proxy/table/table-schema.ts';
import { caBundleFromSecret } from './ca-bundle.ts';
import type { ServiceInfo } from './compile-types.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { RefProblem } from './conditions.ts';
import type { FieldProblem } from './field-path.ts';

export interface ResolvedBackend {
  backend: TableBackend;
  problem?: RefProblem;
  note?: FieldProblem;
}

/** `at` is the field path of the backend entry, e.g. "spec.rules[0].backends[1]". */
export function resolveBackend(ref: Backend, namespace: string, at: string, cluster: ClusterIndex): ResolvedBackend {
  let resolved: ResolvedBackend;
  if (ref.url !== undefined) resolved = { backend: urlBackend(ref.url) };
  else if (ref.service !== undefined) resolved = serviceBackend(ref.service, namespace, at, cluster);
  // The schema guarantees one of the two; this keeps the function total.
  else throw new Error(`${at}: backend has neither url nor service`);
  if (ref.tls === undefined && resolved.backend.protocol === 'http') return resolved;
  return withTls(resolved, ref, namespace, at, cluster);
}

/**
 * An https url, or a backend with `tls`: the table backend gets its verification settings, and an id that tells these
 * settings apart from the defaults. A CA that cannot be read leaves the backend without endpoints (its share of
 * requests gets 503): it is never forwarded to with weaker verification than the one written.
 */
function withTls(resolved: ResolvedBackend, ref: Backend, namespace: string, at: string, cluster: ClusterIndex): ResolvedBackend {
  const settings = ref.tls ?? {};
  const defaultName = defaultServerName(ref, namespace);
  const serverName = settings.serverName ?? defaultName;
  const insecureSkipVerify = settings.insecureSkipVerify === true;
  let id = resolved.backend.id;
  if (ref.service !== undefined) id += ';tls';
  if (settings.caSecretName !== undefined) id += `;ca=${namespace}/${settings.caSecretName}`;
  if (serverName !== defaultName) id += `;sni=${serverName}`;
  if (insecureSkipVerify) id += ';insecure';
  const https = (tls: TableBackendTls, endpoints = resolved.backend.endpoints): TableBackend => ({ ...resolved.backend, id, protocol: 'https', endpoints, tls });
  if (settings.caSecretName === undefined) return { ...resolved, backend: https({ serverName, insecureSkipVerify }) };
  const bundle = caBundleFromSecret(cluster, namespace, settings.caSecretName, CA_KEY, `${at}.tls.caSecretName`);
  if (bundle.ok) return { ...resolved, backend: https({ caPem: bundle.pem, serverName, insecureSkipVerify }) };
  // An unresolved Service already has no endpoints and its own problem, reported first.
  const problem = resolved.problem ?? { ...bundle.problem, message: `${bundle.problem.message} (requests sent to this backend get 503)` };
  return { backend: https({ serverName, insecureSkipVerify }, []), problem };
}

/** The key of a CA Secret holding the bundle (cert-manager's and Kubernetes' name for it). */
export const CA_KEY = 'ca.crt';

/** What an upstream's certificate is checked for by default: the URL's host, or the Service's in-cluster name. */
function defaultServerName(ref: Backend, namespace: string): string {
  if (ref.url !== undefined) return new URL(ref.url).hostname.replace(/^\[(.*)\]$/, '$1');
  return `${(ref.service as NonNullable<Backend['service']>).name}.${namespace}.svc`;
}

const DEFAULT_PORT = { 'http:': 80, 'https:': 443 } as const;

export function urlBackend(url: string): TableBackend {
  const u = new URL(url);
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  const pathPrefix = u.pathname.replace(/\/+$/, '');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port === '' ? DEFAULT_PORT[u.protocol === 'https:' ? 'https:' : 'http:'] : Number(u.port);
  return { id: `url:${u.origin}${pathPrefix}`, protocol, pathPrefix, hostHeader: u.host, endpoints: [{ host, port }] };
}

function serviceBackend(ref: NonNullable<Backend['service']>, namespace: string, at: string, cluster: ClusterIndex): ResolvedBackend {
  const who = `Service ${namespace}/${ref.name}`;
  const unresolved = (reason: string, message: string): ResolvedBackend => ({
    backend: { id: `svc:${namespace}/${ref.name}:${ref.port}`, protocol: 'http', pathPrefix: '', endpoints: [] },
    problem: { path: `${at}.service`, reason, message },
  });
  const service = cluster.service(namespace, ref.name);
  if (!service) return unresolved('BackendNotFound', `${who} not found`);
  const port = service.ports.find((p) => (typeof ref.port === 'number' ? p.port === ref.port : p.name === ref.port));
  if (!port) {
    const what = typeof ref.port === 'number' ? `port ${ref.port}` : `port named ${JSON.stringify(ref.port)}`;
    return unresolved('BackendNotFound', `${who} has no ${what}`);
  }
  const endpoints = readyEndpoints(service, port, cluster);
  const backend: TableBackend = { id: `svc:${namespace}/${ref.name}:${port.port}`, protocol: 'http', pathPrefix: '', endpoints };
  if (endpoints.length > 0) return { backend };
  return { backend, note: { path: `${at}.service`, message: `${who} port ${port.port} has no ready endpoints (requests sent to it get 503)` } };
}

type ServicePort = ServiceInfo['ports'][number];

/**
 * A slice port belongs to a Service port when their names agree (Kubernetes copies the name, "" when unnamed);
 * slices written by hand may carry only the target port number, so that is matched too.
 */
function readyEndpoints(service: ServiceInfo, port: ServicePort, cluster: ClusterIndex): TableEndpoint[] {
  const targetNumber = typeof port.targetPort === 'number' ? port.targetPort : port.targetPort === undefined ? port.port : undefined;
  const seen = new Set<string>();
  const out: TableEndpoint[] = [];
  for (const slice of cluster.slicesOf(service.namespace, service.name)) {
    const slicePort =
      slice.ports.find((p) => (p.name ?? '') === (port.name ?? '')) ?? slice.ports.find((p) => targetNumber !== undefined && p.port === targetNumber);
    if (!slicePort) continue;
    for (const ep of slice.endpoints) {
      if (!ep.ready) continue;
      for (const host of ep.addresses) {
        const key = `${host}|${slicePort.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ host, port: slicePort.port });
      }
    }
  }
  return out.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port));
}

// One Kubernetes object → the shape the compiler reads. Shared by the files source (manifest documents) and the
// kube source (informer caches), so a Service means the same thing whichever way it arrived. Nothing throws: an
// object that cannot be used becomes a message naming the field (never a Secret's value).
import { z } from 'zod';
import type { ConfigMapInfo, EndpointSliceInfo, RawResource, ResourceKind, SecretInfo, ServiceInfo } from '../compile/compile-types.ts';
import { formatFieldPath } from '../compile/field-path.ts';

export type Conversion<T> = { ok: true; value: T } | { ok: false; message: string };

export const GATEWAY_KINDS: readonly ResourceKind[] = ['ApiRoute', 'Authorizer', 'RatePolicy'];
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const metadataSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).nullish(),
});

const serviceSchema = z.object({
  metadata: metadataSchema,
  spec: z.object({
    ports: z
      .array(z.object({ name: z.string().nullish(), port: z.number().int(), targetPort: z.union([z.number().int(), z.string()]).nullish() }))
      .nullish(),
  }),
});

const endpointSliceSchema = z.object({
  metadata: metadataSchema,
  // Kubernetes writes null for "no ports" and leaves port unset for "all ports"; neither can be routed to.
  ports: z.array(z.object({ name: z.string().nullish(), port: z.number().int().nullish() })).nullish(),
  endpoints: z
    .array(z.object({ addresses: z.array(z.string()), conditions: z.object({ ready: z.boolean().nullish() }).nullish() }))
    .nullish(),
});

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;
const secretSchema = z.object({
  metadata: metadataSchema,
  data: z.record(z.string(), z.string().regex(BASE64, 'is not valid base64')).nullish(),
  stringData: z.record(z.string(), z.string()).nullish(),
});

const configMapSchema = z.object({
  metadata: metadataSchema,
  data: z.record(z.string(), z.string()).nullish(),
  binaryData: z.record(z.string(), z.string().regex(BASE64, 'is not valid base64')).nullish(),
});

export function isGatewayKind(kind: string): kind is ResourceKind {
  return (GATEWAY_KINDS as readonly string[]).includes(kind);
}

/** The gateway's own kinds pass through unvalidated: the compiler validates them and reports per resource. */
export function toRawResource(kind: ResourceKind, object: Record<string, unknown>, name: string, defaultNamespace: string, origin?: string): Conversion<RawResource> {
  const namespace = (object['metadata'] as { namespace?: unknown }).namespace ?? defaultNamespace;
  if (typeof namespace !== 'string') return { ok: false, message: `${kind} ${name}: metadata.namespace must be a string` };
  return { ok: true, value: { kind, namespace, name, object, ...(origin !== undefined && { origin }) } };
}

export function toServiceInfo(object: unknown, defaultNamespace: string): Conversion<ServiceInfo> {
  const r = serviceSchema.safeParse(object);
  if (!r.success) return { ok: false, message: `Service ${nameOf(object)}: ${issues(r.error)}` };
  const ports = (r.data.spec.ports ?? []).map((p) => ({
    ...(typeof p.name === 'string' && { name: p.name }),
    port: p.port,
    ...(p.targetPort !== undefined && p.targetPort !== null && { targetPort: p.targetPort }),
  }));
  return { ok: true, value: { namespace: r.data.metadata.namespace ?? defaultNamespace, name: r.data.metadata.name, ports } };
}

export function toEndpointSliceInfo(object: unknown, defaultNamespace: string): Conversion<EndpointSliceInfo> {
  const r = endpointSliceSchema.safeParse(object);
  if (!r.success) return { ok: false, message: `EndpointSlice ${nameOf(object)}: ${issues(r.error)}` };
  const ports = (r.data.ports ?? []).flatMap((p) => (typeof p.port === 'number' ? [{ ...(p.name ? { name: p.name } : {}), port: p.port }] : []));
  // A missing ready condition means "unknown", which Kubernetes tells consumers to treat as ready.
  const endpoints = (r.data.endpoints ?? []).map((e) => ({ addresses: e.addresses, ready: e.conditions?.ready ?? true }));
  const serviceName = r.data.metadata.labels?.[SERVICE_NAME_LABEL];
  if (serviceName === undefined) {
    return { ok: false, message: `EndpointSlice ${r.data.metadata.name}: metadata.labels["${SERVICE_NAME_LABEL}"] is required (it names the Service)` };
  }
  return { ok: true, value: { namespace: r.data.metadata.namespace ?? defaultNamespace, serviceName, ports, endpoints } };
}

export function toSecretInfo(object: unknown, defaultNamespace: string): Conversion<SecretInfo> {
  const r = secretSchema.safeParse(object);
  if (!r.success) return { ok: false, message: `Secret ${nameOf(object)}: ${issues(r.error)}` };
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.data.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
  // As the API server does: stringData wins over data for the same key.
  for (const [k, v] of Object.entries(r.data.stringData ?? {})) data[k] = v;
  return { ok: true, value: { namespace: r.data.metadata.namespace ?? defaultNamespace, name: r.data.metadata.name, labels: r.data.metadata.labels ?? {}, data } };
}

export function toConfigMapInfo(object: unknown, defaultNamespace: string): Conversion<ConfigMapInfo> {
  const r = configMapSchema.safeParse(object);
  if (!r.success) return { ok: false, message: `ConfigMap ${nameOf(object)}: ${issues(r.error)}` };
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.data.binaryData ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(r.data.data ?? {})) data[k] = v;
  return { ok: true, value: { namespace: r.data.metadata.namespace ?? defaultNamespace, name: r.data.metadata.name, labels: r.data.metadata.labels ?? {}, data } };
}

function nameOf(object: unknown): string {
  const name = (object as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' ? name : '(unnamed)';
}

/** Field paths only: a Secret's values must never reach a message. */
function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${formatFieldPath(i.path)}: ${i.message}`).join('; ');
}

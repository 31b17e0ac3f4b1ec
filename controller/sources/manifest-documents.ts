// Parsed manifest documents → the compiler's input. The gateway's own kinds are passed through unvalidated
// (the compiler validates them and reports per resource); Services, EndpointSlices and Secrets are reduced to
// the fields the compiler reads. A document that cannot be used becomes an error with its origin; nothing throws.
import { z } from 'zod';
import type { CompileInput, EndpointSliceInfo, RawResource, ResourceKind, SecretInfo, ServiceInfo } from '../compile/compile-types.ts';
import { formatFieldPath } from '../compile/field-path.ts';

export interface ManifestDocumentInput {
  object: unknown;
  origin: string;
}

export interface DocumentError {
  origin: string;
  message: string;
}

export interface DocumentConversion {
  input: CompileInput;
  errors: DocumentError[];
}

const GATEWAY_KINDS: readonly ResourceKind[] = ['ApiRoute', 'Authorizer', 'RatePolicy'];
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const metadataSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

const serviceSchema = z.object({
  metadata: metadataSchema,
  spec: z.object({
    ports: z
      .array(z.object({ name: z.string().optional(), port: z.number().int(), targetPort: z.union([z.number().int(), z.string()]).optional() }))
      .optional(),
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

export function documentsToCompileInput(docs: readonly ManifestDocumentInput[]): DocumentConversion {
  const input: Required<Omit<CompileInput, 'lastAccepted'>> = { resources: [], services: [], endpointSlices: [], secrets: [] };
  const errors: DocumentError[] = [];
  const visit = (object: unknown, origin: string): void => {
    const result = convert(object, origin, visit);
    if (result.kind === 'error') errors.push({ origin, message: result.message });
    else if (result.kind === 'resource') input.resources.push(result.value);
    else if (result.kind === 'service') input.services.push(result.value);
    else if (result.kind === 'slice') input.endpointSlices.push(result.value);
    else if (result.kind === 'secret') input.secrets.push(result.value);
  };
  for (const doc of docs) visit(doc.object, doc.origin);
  return { input, errors };
}

type Converted =
  | { kind: 'resource'; value: RawResource }
  | { kind: 'service'; value: ServiceInfo }
  | { kind: 'slice'; value: EndpointSliceInfo }
  | { kind: 'secret'; value: SecretInfo }
  | { kind: 'list' }
  | { kind: 'error'; message: string };

function convert(object: unknown, origin: string, visit: (object: unknown, origin: string) => void): Converted {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return { kind: 'error', message: 'a manifest document must be a mapping' };
  const doc = object as Record<string, unknown>;
  const kind = doc['kind'];
  if (typeof kind !== 'string' || kind === '') return { kind: 'error', message: 'document has no kind' };
  // `kubectl get -o yaml` output: a List whose items are documents.
  if (kind === 'List' || (kind.endsWith('List') && Array.isArray(doc['items']))) {
    if (!Array.isArray(doc['items'])) return { kind: 'error', message: `${kind} has no items` };
    doc['items'].forEach((item, i) => visit(item, `${origin}#items[${i}]`));
    return { kind: 'list' };
  }
  const name = (doc['metadata'] as { name?: unknown } | null | undefined)?.name;
  if (typeof name !== 'string' || name === '') return { kind: 'error', message: `${kind} has no metadata.name` };
  const what = `${kind} ${name}`;
  if ((GATEWAY_KINDS as readonly string[]).includes(kind)) {
    const namespace = (doc['metadata'] as { namespace?: unknown }).namespace ?? 'default';
    if (typeof namespace !== 'string') return { kind: 'error', message: `${what}: metadata.namespace must be a string` };
    return { kind: 'resource', value: { kind: kind as ResourceKind, namespace, name, object, origin } };
  }
  switch (kind) {
    case 'Service': {
      const r = serviceSchema.safeParse(object);
      if (!r.success) return { kind: 'error', message: `${what}: ${issues(r.error)}` };
      const ports = (r.data.spec.ports ?? []).map((p) => ({
        ...(p.name !== undefined && { name: p.name }),
        port: p.port,
        ...(p.targetPort !== undefined && { targetPort: p.targetPort }),
      }));
      return { kind: 'service', value: { namespace: r.data.metadata.namespace ?? 'default', name, ports } };
    }
    case 'EndpointSlice': {
      const r = endpointSliceSchema.safeParse(object);
      if (!r.success) return { kind: 'error', message: `${what}: ${issues(r.error)}` };
      const ports = (r.data.ports ?? []).flatMap((p) => (typeof p.port === 'number' ? [{ ...(p.name ? { name: p.name } : {}), port: p.port }] : []));
      // A missing ready condition means "unknown", which Kubernetes tells consumers to treat as ready.
      const endpoints = (r.data.endpoints ?? []).map((e) => ({ addresses: e.addresses, ready: e.conditions?.ready ?? true }));
      const serviceName = r.data.metadata.labels?.[SERVICE_NAME_LABEL];
      if (serviceName === undefined) return { kind: 'error', message: `${what}: metadata.labels["${SERVICE_NAME_LABEL}"] is required (it names the Service)` };
      return { kind: 'slice', value: { namespace: r.data.metadata.namespace ?? 'default', serviceName, ports, endpoints } };
    }
    case 'Secret': {
      const r = secretSchema.safeParse(object);
      if (!r.success) return { kind: 'error', message: `${what}: ${issues(r.error)}` };
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.data.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
      // As the API server does: stringData wins over data for the same key.
      for (const [k, v] of Object.entries(r.data.stringData ?? {})) data[k] = v;
      return { kind: 'secret', value: { namespace: r.data.metadata.namespace ?? 'default', name, labels: r.data.metadata.labels ?? {}, data } };
    }
    default:
      return { kind: 'error', message: `${what}: unsupported kind ${JSON.stringify(kind)} (expected ${[...GATEWAY_KINDS, 'Service', 'EndpointSlice', 'Secret'].join(', ')})` };
  }
}

/** Field paths only: a Secret's values must never reach a message. */
function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${formatFieldPath(i.path)}: ${i.message}`).join('; ');
}

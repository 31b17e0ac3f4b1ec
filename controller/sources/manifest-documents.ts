// Parsed manifest documents → the compiler's input. The gateway's own kinds are passed through unvalidated
// (the compiler validates them and reports per resource); Services, EndpointSlices and Secrets are reduced to
// the fields the compiler reads. A document that cannot be used becomes an error with its origin; nothing throws.
import type { CompileInput, EndpointSliceInfo, RawResource, SecretInfo, ServiceInfo } from '../compile/compile-types.ts';
import { GATEWAY_KINDS, isGatewayKind, toEndpointSliceInfo, toRawResource, toSecretInfo, toServiceInfo, type Conversion } from './kube-object-converters.ts';

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

export function documentsToCompileInput(docs: readonly ManifestDocumentInput[]): DocumentConversion {
  const input: Required<Omit<CompileInput, 'lastAccepted' | 'cache' | 'jwksHealth' | 'defaultTlsSecret' | 'now' | 'files'>> = { resources: [], services: [], endpointSlices: [], secrets: [] };
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
  if (isGatewayKind(kind)) return tagged('resource', toRawResource(kind, doc, name, 'default', origin));
  switch (kind) {
    case 'Service':
      return tagged('service', toServiceInfo(object, 'default'));
    case 'EndpointSlice':
      return tagged('slice', toEndpointSliceInfo(object, 'default'));
    case 'Secret':
      return tagged('secret', toSecretInfo(object, 'default'));
    default:
      return { kind: 'error', message: `${what}: unsupported kind ${JSON.stringify(kind)} (expected ${[...GATEWAY_KINDS, 'Service', 'EndpointSlice', 'Secret'].join(', ')})` };
  }
}

function tagged<K extends 'resource' | 'service' | 'slice' | 'secret'>(kind: K, result: Conversion<Extract<Converted, { kind: K }>['value']>): Converted {
  return result.ok ? ({ kind, value: result.value } as Converted) : { kind: 'error', message: result.message };
}

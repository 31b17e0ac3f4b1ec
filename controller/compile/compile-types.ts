// The compiler's boundary: what the sources hand in, and the table + statuses that come out.
// Everything here is plain data so the compiler stays pure (no I/O, no clock).
import type { Condition } from '../../crds/schemas/index.ts';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';
import type { CompileCache } from './compile-cache.ts';

export type ResourceKind = 'ApiRoute' | 'Authorizer' | 'RatePolicy';

/**
 * A manifest as a source read it: not yet validated. The compiler validates each one and reports,
 * per resource, what is wrong and where; `origin` (e.g. "examples/routes.yaml#2") only flavours messages.
 */
export interface RawResource {
  kind: ResourceKind;
  namespace: string;
  name: string;
  object: unknown;
  origin?: string;
}

/** The Kubernetes shapes the compiler reads to resolve `service:` backends (only the fields it uses). */
export interface ServiceInfo {
  namespace: string;
  name: string;
  ports: { name?: string; port: number; targetPort?: number | string }[];
}

export interface EndpointSliceInfo {
  namespace: string;
  serviceName: string;
  ports: { name?: string; port: number }[];
  endpoints: { addresses: string[]; ready: boolean }[];
}

export interface SecretInfo {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Decoded values. Never copied into statuses or logs. */
  data: Record<string, string>;
}

/** Whether the controller can fetch a JWKS URI (see sources/jwks-health.ts); errors name no key material. */
export type JwksHealth = { uri: string; ok: true } | { uri: string; ok: false; error: string; since: string };

export interface CompileInput {
  resources: RawResource[];
  services?: ServiceInfo[];
  endpointSlices?: EndpointSliceInfo[];
  secrets?: SecretInfo[];
  /** JWKS fetch health by source key (JwksCaches.keyOf): a failing URI is reported on its Authorizers' status. */
  jwksHealth?: ReadonlyMap<string, JwksHealth>;
  /**
   * The last accepted object per resource key ("Kind/ns/name"): an invalid update keeps serving this one
   * and its status says so.
   */
  lastAccepted?: Map<string, unknown>;
  /**
   * Optional memo across compiles (see compile-cache.ts): the output is the same with or without it. Callers that
   * pass one must not mutate the objects they hand in.
   */
  cache?: CompileCache;
  /** The proxy-wide default certificate (--default-tls-secret): a kubernetes.io/tls Secret among `secrets`. */
  defaultTlsSecret?: { namespace: string; name: string };
  /** The time (ms since the epoch) certificates are checked for expiry against; no expiry check without it. */
  now?: number;
  /**
   * Standalone mode: the direct-response body files the ApiRoutes name, by their path relative to the config folder,
   * as read (controller/sources/body-files.ts). Absent in a cluster, where a body file is refused.
   */
  files?: ReadonlyMap<string, BodyFileRead>;
}

/** A body file's text, or why it could not be read. */
export type BodyFileRead = { text: string } | { error: string };

export interface ResourceStatus {
  kind: ResourceKind;
  namespace: string;
  name: string;
  generation?: number;
  /** Sorted by type; no timestamps (the status writer adds them). */
  conditions: Condition[];
}

export interface CompileOutput {
  table: RoutingTable;
  /** Sorted by kind, namespace, name. */
  statuses: ResourceStatus[];
  /**
   * Resource key → the validated object that was compiled (feed back as `lastAccepted`); also "Secret/<ns>/<name>" →
   * the certificate pair served for that Secret, which keeps serving while the Secret holds an invalid one.
   */
  accepted: Map<string, unknown>;
  /** What is wrong with the default certificate, if anything (it has no resource status to carry it). */
  defaultCertificateProblem: string | null;
}

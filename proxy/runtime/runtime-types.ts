// What one routing table becomes once built for serving: everything a request needs, precomputed.
import type { RouteIndex } from '../router/route-index-types.ts';
import type { VersionedMap } from '../router/versioned-map.ts';
import type { RoutingTable, TableBackend, TableHeaderChanges, TableRoute } from '../table/table-schema.ts';
import type { PathRewriter } from '../forward/rewrite-path.ts';
import type { UpstreamErrorKind } from '../forward/upstream-errors.ts';
import type { ReferenceCounts } from './reference-counts.ts';
import type { BackendTarget } from './backend-target.ts';
import type { CanaryTrigger } from './canary-match.ts';
import type { EjectionPolicy } from './endpoint-health.ts';
import type { PoolSettings, UpstreamEndpoint } from './endpoint-pool.ts';
import type { WeightedPicker } from './weighted-picker.ts';
import type { AuthorizerSet, PolicyEnv } from '../policy/authorizer-set.ts';
import type { RoutePolicy } from '../policy/route-policy.ts';
import type { RouteCors } from '../policy/cors/route-cors.ts';
import type { CacheEnv, RouteCache } from '../cache/route-cache.ts';
import type { RatePolicySet } from '../policy/rate-limit/rate-policy-set.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import type { TlsSettings } from '../tls/tls-settings.ts';
import type { Logger } from 'pino';
import type { RouteAnswer } from '../direct/route-answer.ts';
import type { RouteValidation } from '../validation/request-validator.ts';
import type { BodySchemaSet } from '../validation/body-schema-set.ts';

/** Per-route instruments, resolved once per table so a request does no label lookups. */
export interface RouteMetrics {
  /**
   * A finished request: its method, its status, and the seconds the gateway itself spent on it — until it dispatched
   * upstream (not counting failed attempts it retried), or until it answered when it answered itself.
   */
  requestDone(method: string, status: number, gatewaySeconds: number): void;
  /** Seconds from dispatch to the upstream's response headers. */
  upstreamResponded(seconds: number): void;
  /** One failed upstream attempt (a retried one too). */
  upstreamFailed(kind: UpstreamErrorKind): void;
}

export interface RuntimeRoute {
  route: TableRoute;
  primary: WeightedPicker<BackendTarget>;
  canary: { trigger: CanaryTrigger; picker: WeightedPicker<BackendTarget> } | null;
  rewrite: PathRewriter | null;
  requestHeaders: TableHeaderChanges | null;
  responseHeaders: TableHeaderChanges | null;
  /** Client IP rules, authorization and rate limits, in order; null for a route with none (it pays nothing). */
  policy: RoutePolicy | null;
  /** CORS (preflights answered, response headers set); null for a route without it (it pays nothing). */
  cors: RouteCors | null;
  /** The response cache, after the policies; null for a route without one (it pays nothing). */
  cache: RouteCache | null;
  /**
   * The route's own answer (directResponse or redirect), given instead of forwarding; null for a route that forwards.
   * Such a route has no backends: its pickers are empty and never reached.
   */
  answer: RouteAnswer | null;
  /** Request validation (proxy/validation); null for a route without it (it pays nothing). */
  validation: RouteValidation | null;
  metrics: RouteMetrics;
}

export interface Runtime {
  version: string;
  table: RoutingTable;
  index: RouteIndex;
  /** By route id; versioned, so a delta makes the next runtime's without copying every entry. */
  routes: VersionedMap<string, RuntimeRoute>;
  /** Every pool this runtime may dispatch to, by endpoint key; handed on to the next runtime. */
  endpoints: ReadonlyMap<string, UpstreamEndpoint>;
  /** Targets by backend id (one per connect timeout): what an endpoint update changes in place. */
  backendTargets: ReadonlyMap<string, ReadonlyArray<{ target: BackendTarget; connectMs: number }>>;
  /** The table's backends by id. */
  backendsById: ReadonlyMap<string, TableBackend>;
  /** Route references per backend and target: lets a delta check and carry over only what it touches. */
  refs: ReferenceCounts;
  /** The table's Authorizers by id, with their authenticators (carried to the next runtime while unchanged). */
  authorizers: AuthorizerSet;
  /** The table's RatePolicies by id (carried to the next runtime while unchanged; their counters live in the env). */
  ratePolicies: RatePolicySet;
  /** The HTTPS listener's certificates by SNI host; null without an HTTPS listener. */
  certificates: CertificateStore | null;
  /** The routes' body schemas, compiled (carried to the next runtime while unchanged). */
  bodySchemas: BodySchemaSet;
  options: RuntimeOptions;
}

export interface RuntimeOptions {
  ejection: EjectionPolicy;
  pools: PoolSettings;
  routeMetrics: (routeId: string) => RouteMetrics;
  policy: PolicyEnv;
  /** The response caches' stores and flights (carried across swaps); absent: routes' cache blocks are not served from a cache. */
  cache?: CacheEnv;
  /** Settings of the HTTPS listener's contexts; absent without one (no certificate store is built). */
  tls?: { settings: TlsSettings; logger: Logger };
}

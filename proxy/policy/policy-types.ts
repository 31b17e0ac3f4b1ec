// The request policy seam: what a route's compiled chain of steps (client IP rules → authorize → later: throttle,
// cache) reads and writes for one request, and what each authorizer type implements. A route without policies
// holds no chain at all (RuntimeRoute.policy is null) and pays nothing.
import type { GatewayRequest } from '../server/gateway-request.ts';

/** Who the authorizer says the caller is: the one object the rest of the chain reads (upstream header, logs, rate-limit keys). */
export interface Consumer {
  /** An API key Secret's `consumer`, a JWT's `sub`, or an external authorizer's `consumer`. */
  readonly name: string;
  /** The id ("<namespace>/<name>") of the Authorizer that authenticated it. */
  readonly authorizer: string;
  /** The usage plan an API key Secret names, for rate limits. */
  readonly plan: string | undefined;
  /** Verified JWT claims; empty for the other types. */
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface PolicyContext {
  readonly req: GatewayRequest;
  readonly routeId: string;
  readonly requestId: string;
  readonly method: string;
  /** The client's path, without the query. */
  readonly path: string;
  /** The raw query string without "?" ("" for none). */
  readonly query: string;
  /** The Host header, lower-case, without the port. */
  readonly host: string;
  /** The client's address: the socket's, or the X-Forwarded-For entry added by a trusted proxy. */
  readonly clientIp: string;
  consumer: Consumer | null;
  /** Headers a step sets on the upstream request (after the route's owned headers are removed from the client's). */
  upstreamHeaders: Array<[string, string]> | null;
  /** Headers a step adds to the response the client gets (the RateLimit fields), over the upstream's. */
  responseHeaders: Array<[string, string]> | null;
}

/** A request's context before its first step: what it is, no consumer yet, no headers set (HTTP and WebSocket handshakes). */
export function newPolicyContext(req: GatewayRequest, routeId: string, requestId: string, method: string, target: { path: string; query: string }, host: string, clientIp: string): PolicyContext {
  return { req, routeId, requestId, method, path: target.path, query: target.query, host, clientIp, consumer: null, upstreamHeaders: null, responseHeaders: null };
}

/** A step's refusal: the status, the JSON body's `error`, response headers, and a metric-safe reason label. */
export interface Denial {
  status: number;
  error: string;
  reason: string;
  headers?: Record<string, string>;
}

/** null: go on to the next step. */
export type StepOutcome = Denial | null;

/** One policy of a route. A step that can answer synchronously returns its outcome, not a promise. */
export interface PolicyStep {
  run(ctx: PolicyContext): StepOutcome | Promise<StepOutcome>;
}

export type AuthResult =
  | { ok: true; consumer: Consumer; headers: Array<[string, string]> | null }
  | { ok: false; denial: Denial };

/** One Authorizer of the table, built once per (id, compiled form) and carried across table swaps while unchanged. */
export interface Authenticator {
  readonly id: string;
  /** Lower-case headers this authorizer may set upstream: always removed from the client's request first. */
  readonly ownedHeaders: readonly string[];
  /** Answers synchronously when it can (a cached token or decision, an API key). */
  authenticate(ctx: PolicyContext): AuthResult | Promise<AuthResult>;
  /** Stops timers and connections when the authorizer leaves the table. */
  close(): void;
}

/** Instruments the authorizers report to (gateway-metrics.ts implements them). */
export interface AuthMetrics {
  /** A finished authorization: `result` allow/deny/error, `reason` a fixed label (missing, invalid, expired, scope…). */
  decision(authorizer: string, result: 'allow' | 'deny' | 'error', reason: string): void;
  /** A JWKS fetch: ok, error (network/status/parse), or refused (parsed to no usable key). */
  jwksFetch(result: 'ok' | 'error' | 'refused'): void;
  /** A lookup in the verified-token or external-decision cache. */
  cacheLookup(cache: 'token' | 'decision', hit: boolean): void;
}

export const NO_AUTH_METRICS: AuthMetrics = { decision() {}, jwksFetch() {}, cacheLookup() {} };

/** Milliseconds since the epoch; tests pass node:test's mocked Date.now. */
export type Clock = () => number;

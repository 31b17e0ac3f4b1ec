// An ApiRoute becomes one TableRoute per (rule, match). Everything the proxy needs is resolved here:
// full paths with the basePath, rewrites, lower-cased names, sorted lists, defaults filled in, backends by id.
import type { ApiRoute, RouteMatch, RouteRule } from '../../crds/schemas/index.ts';
import { parseDurationMs, parseSizeBytes } from '../../crds/schemas/index.ts';
import {
  ROUTE_DEFAULTS,
  type TableBackend,
  type TableClientIpRules,
  type TableRouteAuth,
  type TableHeaderChanges,
  type TableRoute,
  type TableValueMatch,
  type TableWebSocket,
  type WeightedBackend,
} from '../../proxy/table/table-schema.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { RefProblem } from './conditions.ts';
import type { FieldProblem } from './field-path.ts';
import { resolveBackend } from './backend-resolver.ts';
import { effectiveMatches, matchPath } from './effective-matches.ts';
import { tablePath, tableRewrite } from './route-paths.ts';
import { cmp } from './resource-key.ts';
import { authorizerId } from './authorizer-compiler.ts';
import { ratePolicyId } from './rate-policy-compiler.ts';
import { routeCors } from './cors-compiler.ts';
import { routeCache } from './cache-compiler.ts';
import { routeRequestValidation } from './validation-compiler.ts';
import { certificateId, readCaSecret, readTlsSecret, type PairCheck } from './tls-secrets.ts';
import { compileDirectResponse, compileRedirect } from './direct-response-compiler.ts';

export interface RouteCandidate {
  route: TableRoute;
  /** The match's field path, e.g. "spec.rules[1].matches[0]", for conflict messages. */
  field: string;
}

export interface CompiledApiRoute {
  /** In rule, then match order. */
  candidates: RouteCandidate[];
  backends: TableBackend[];
  backendProblems: RefProblem[];
  backendNotes: FieldProblem[];
  /** What spec.tls asks of the HTTPS listener for the route's hosts; null when it asks nothing of it. */
  tls: CompiledRouteTls | null;
}

/** spec.tls as the TLS assembly (tls-assembly.ts) reads it: the checks of its Secrets, for its hosts. */
export interface CompiledRouteTls {
  hosts: readonly string[];
  /** spec.tls.secretName and its check; null: the route names none (its hosts get the default certificate). */
  certificate: { id: string; check: PairCheck } | null;
  /** spec.tls.clientCertificate's CA bundle; caPem null when its Secret is missing or invalid (then in `problems`). */
  clientCa: { id: string; caPem: string | null } | null;
  problems: RefProblem[];
}

/**
 * Compiled routes are read-only once built and a controller keeps every one of them (30k at 10k ApiRoutes), so what
 * most routes have in common is shared instead of allocated per route: one frozen empty list, one "no header
 * changes", the field-path strings, and (with `backendPool`) one object per distinct resolved backend.
 */
const NONE = Object.freeze([]) as unknown as never[];
const NO_HEADER_CHANGES: TableHeaderChanges = Object.freeze({ set: NONE, add: NONE, remove: NONE });
const matchFields: string[][] = [];

function matchField(rule: number, match: number): string {
  const fields = (matchFields[rule] ??= []);
  return (fields[match] ??= `spec.rules[${rule}].matches[${match}]`);
}

/**
 * `backendPool`: resolved backends by content, shared across calls while the cluster they were resolved from is
 * the same (the caller starts a new pool when it changes).
 */
export function compileApiRoute(apiRoute: ApiRoute, cluster: ClusterIndex, backendPool?: Map<string, TableBackend>): CompiledApiRoute {
  const { metadata, spec } = apiRoute;
  const out: CompiledApiRoute = { candidates: [], backends: [], backendProblems: [], backendNotes: [], tls: null };
  const pooled = (backend: TableBackend): TableBackend => {
    if (backendPool === undefined) return backend;
    const key = JSON.stringify(backend);
    const shared = backendPool.get(key);
    if (shared !== undefined) return shared;
    backendPool.set(key, backend);
    return backend;
  };
  const weighted = (list: NonNullable<RouteRule['backends']>, at: string): WeightedBackend[] =>
    list.map((ref, k) => {
      const resolved = resolveBackend(ref, metadata.namespace, `${at}[${k}]`, cluster);
      resolved.backend = pooled(resolved.backend);
      out.backends.push(resolved.backend);
      if (resolved.problem) out.backendProblems.push(resolved.problem);
      if (resolved.note) out.backendNotes.push(resolved.note);
      return { backend: resolved.backend.id, weight: ref.weight };
    });
  const hosts = sortedUnique((spec.hosts ?? []).map((h) => h.toLowerCase()));
  const tls = spec.tls;
  out.tls = compileRouteTls(tls, metadata.namespace, hosts, cluster);
  const httpsRedirect = tls?.httpsRedirect?.statusCode as 301 | 308 | undefined;
  const clientCertificate = tls?.clientCertificate && {
    ca: certificateId(metadata.namespace, tls.clientCertificate.caSecretName),
    mode: tls.clientCertificate.mode === 'Optional' ? ('optional' as const) : ('required' as const),
  };

  spec.rules.forEach((rule, i) => {
    const at = `spec.rules[${i}]`;
    const backends = rule.backends && weighted(rule.backends, `${at}.backends`);
    // A rule that answers itself: its body's problem (a file that cannot be read) is a reference problem, reported once.
    const direct = rule.directResponse && compileDirectResponse(rule.directResponse, `${at}.directResponse`, cluster);
    if (direct?.problem) out.backendProblems.push(direct.problem);
    const canary = rule.canary && {
      ...(rule.canary.header && { header: { name: rule.canary.header.name.toLowerCase(), value: rule.canary.header.value } }),
      ...(rule.canary.cookie && { cookie: { name: rule.canary.cookie.name, value: rule.canary.cookie.value } }),
      backends: weighted(rule.canary.backends, `${at}.canary.backends`),
    };
    const shared = {
      requestHeaders: headerChanges(rule.requestHeaders),
      responseHeaders: headerChanges(rule.responseHeaders),
      timeouts: {
        connectMs: durationOr(rule.timeouts?.connect ?? spec.timeouts?.connect, ROUTE_DEFAULTS.connectMs),
        requestMs: durationOr(rule.timeouts?.request ?? spec.timeouts?.request, ROUTE_DEFAULTS.requestMs),
        idleMs: durationOr(rule.timeouts?.idle ?? spec.timeouts?.idle, ROUTE_DEFAULTS.idleMs),
      },
      retries: { attempts: rule.retries?.attempts ?? ROUTE_DEFAULTS.retryAttempts },
      maxBodyBytes: rule.maxBodySize === undefined ? ROUTE_DEFAULTS.maxBodyBytes : parseSizeBytes(rule.maxBodySize),
      clientIp: clientIpRules(rule.clientIp ?? spec.clientIp),
      auth: routeAuth(metadata.namespace, rule.authorizer ?? spec.authorizer),
      ratePolicies: routeRatePolicies(metadata.namespace, spec.ratePolicies, rule.ratePolicies),
      websocket: routeWebSocket(rule.websocket),
      cors: routeCors(rule.cors ?? spec.cors),
      cache: routeCache(rule.cache, `${metadata.namespace}/${metadata.name}/r${i}`, spec.cacheEpoch),
      requestValidation: routeRequestValidation(rule.requestValidation),
    };
    effectiveMatches(rule).forEach((match, j) => {
      const path = matchPath(match);
      // Only a forwarded path is rewritten (a redirect's path replacement works on the client's full path).
      const rewrite = backends && tableRewrite(rule, path, spec.basePath, spec.stripBasePath);
      const route: TableRoute = {
        id: `${metadata.namespace}/${metadata.name}/r${i}/m${j}`,
        source: { namespace: metadata.namespace, name: metadata.name, rule: i, match: j },
        hosts,
        path: tablePath(path, spec.basePath),
        methods: sortedUnique(match.methods ?? []),
        headers: valueMatches(match.headers, (n) => n.toLowerCase()),
        query: valueMatches(match.query, (n) => n),
        ...(rewrite && { rewrite }),
        requestHeaders: shared.requestHeaders,
        responseHeaders: shared.responseHeaders,
        ...(backends && { backends }),
        ...(direct && { directResponse: direct.table }),
        ...(rule.redirect && { redirect: compileRedirect(rule.redirect, path, spec.basePath) }),
        ...(canary && { canary }),
        timeouts: shared.timeouts,
        retries: shared.retries,
        maxBodyBytes: shared.maxBodyBytes,
        ...(shared.clientIp && { clientIp: shared.clientIp }),
        ...(shared.auth && { auth: shared.auth }),
        ...(shared.ratePolicies && { ratePolicies: shared.ratePolicies }),
        ...(shared.websocket && { websocket: shared.websocket }),
        ...(shared.cors && { cors: shared.cors }),
        ...(httpsRedirect !== undefined && { httpsRedirect }),
        ...(clientCertificate && { clientCertificate }),
        ...(shared.cache && { cache: shared.cache }),
        ...(shared.requestValidation && { requestValidation: shared.requestValidation }),
      };
      out.candidates.push({ route, field: matchField(i, j) });
    });
  });
  return out;
}

function compileRouteTls(tls: ApiRoute['spec']['tls'], namespace: string, hosts: readonly string[], cluster: ClusterIndex): CompiledRouteTls | null {
  if (tls === undefined || (tls.secretName === undefined && tls.clientCertificate === undefined)) return null;
  const problems: RefProblem[] = [];
  const certificate = tls.secretName === undefined ? null : { id: certificateId(namespace, tls.secretName), check: readTlsSecret(cluster, namespace, tls.secretName) };
  let clientCa: CompiledRouteTls['clientCa'] = null;
  if (tls.clientCertificate !== undefined) {
    const name = tls.clientCertificate.caSecretName;
    const ca = readCaSecret(cluster, namespace, name, 'spec.tls.clientCertificate.caSecretName');
    if (!ca.ok) problems.push({ ...ca.problem, message: `${ca.problem.message}; requests needing a client certificate are refused` });
    clientCa = { id: certificateId(namespace, name), caPem: ca.ok ? ca.caPem : null };
  }
  return { hosts, certificate, clientCa, problems };
}

/** A rule's (or its ApiRoute's) authorizer: scopes and claims sorted, so equal requirements compile the same. */
function routeAuth(namespace: string, ref: RouteRule['authorizer']): TableRouteAuth | undefined {
  if (ref === undefined) return undefined;
  const claims = Object.entries(ref.claims ?? {}).sort((a, b) => cmp(a[0], b[0]));
  return { authorizer: authorizerId(namespace, ref.name), scopes: sortedUnique(ref.scopes ?? []), claims: claims.length === 0 ? NONE : claims };
}

/** The ApiRoute's RatePolicies and the rule's together (a rule adds limits, it cannot drop its API's), sorted. */
function routeRatePolicies(namespace: string, api: RouteRule['ratePolicies'], rule: RouteRule['ratePolicies']): string[] | undefined {
  if (api === undefined && rule === undefined) return undefined;
  const ids = sortedUnique([...(api ?? []), ...(rule ?? [])].map((p) => ratePolicyId(namespace, p.name)));
  return ids.length === 0 ? undefined : ids;
}

/** Upgrades enabled, with every default filled in (the route's CORS origins, if any, gate the handshake). */
function routeWebSocket(ws: RouteRule['websocket']): TableWebSocket | undefined {
  if (ws === undefined || !ws.enabled) return undefined;
  return {
    idleTimeoutMs: durationOr(ws.idleTimeout, ROUTE_DEFAULTS.websocketIdleMs),
    maxDurationMs: durationOr(ws.maxDuration, ROUTE_DEFAULTS.websocketMaxDurationMs),
    ...(ws.maxMessageSize !== undefined && { maxMessageBytes: parseSizeBytes(ws.maxMessageSize) }),
    ...(ws.maxMessagesPerSecond !== undefined && { maxMessagesPerSecond: ws.maxMessagesPerSecond }),
    closeOnExpiry: ws.closeOnExpiry,
  };
}

function clientIpRules(rules: RouteRule['clientIp']): TableClientIpRules | undefined {
  const allow = sortedUnique(rules?.allowCIDRs ?? []);
  const deny = sortedUnique(rules?.denyCIDRs ?? []);
  return allow.length === 0 && deny.length === 0 ? undefined : { allow, deny };
}

function durationOr(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : parseDurationMs(text);
}

function headerChanges(changes: RouteRule['requestHeaders']): TableHeaderChanges {
  if (changes === undefined) return NO_HEADER_CHANGES;
  const tuples = (record: Record<string, string> | undefined): [string, string][] =>
    record === undefined || Object.keys(record).length === 0
      ? NONE
      : Object.entries(record)
          .map(([name, value]): [string, string] => [name.toLowerCase(), value])
          .sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
  const out = { set: tuples(changes.set), add: tuples(changes.add), remove: sortedUnique((changes.remove ?? []).map((n) => n.toLowerCase())) };
  return out.set === NONE && out.add === NONE && out.remove === NONE ? NO_HEADER_CHANGES : out;
}

const VALUE_TYPE = { Exact: 'exact', Regex: 'regex', Present: 'present' } as const;

/** Sorted, so matchers written in a different order compile (and compare, for conflicts) the same. */
function valueMatches(list: RouteMatch['headers'] | RouteMatch['query'], name: (n: string) => string): TableValueMatch[] {
  if (list === undefined || list.length === 0) return NONE;
  return list
    .map((m): TableValueMatch => (m.type === 'Present' ? { name: name(m.name), type: 'present' } : { name: name(m.name), type: VALUE_TYPE[m.type], value: m.value ?? '' }))
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.type, b.type) || cmp(a.value ?? '', b.value ?? ''));
}

function sortedUnique(items: string[]): string[] {
  return items.length === 0 ? NONE : [...new Set(items)].sort(cmp);
}

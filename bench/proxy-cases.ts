// The proxies under test, each started as a pinned child on its own port in front of the shared upstream: the four
// proxy cases, the gateway's one-route table behind each kind of Authorizer, the same route naming a RatePolicy, and
// the same gateway exporting spans over OTLP, and the gateway and nginx terminating TLS (HTTP/1.1 and HTTP/2).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RoutingTable, TableRatePolicy } from '../proxy/table/table-schema.ts';
import { missingProxyHeapFlags } from '../cli/commands/controller-heap-flags.ts';
import { startProcess, type Started } from './child-processes.ts';
import { freePort, waitForPort, LOOPBACK } from './ports.ts';
import { CACHE_BODIES, proxyConf, startNginx, type TlsFiles } from './nginx.ts';
import { assertMeasuredRoute, BENCH_CACHE, BENCH_CORS, BENCH_JSON_BODY, BENCH_VALIDATION, oneRouteTable, tenThousandRouteTable, MEASURED_ROUTE_ID, type RoutePolicyFixture } from './bench-tables.ts';
import { EXTERNAL_CREDENTIAL, routeAuth, type ApiKeyFixture, type DecisionService, type JwtIssuer } from './auth-fixtures.ts';
import { GLOBAL_POLICY, LOCAL_POLICY, PRECHECK_POLICY } from './limit-fixtures.ts';
import { rotatingScript, type ExpectedStatus } from './wrk.ts';

export type CaseName =
  | 'gateway-1'
  | 'gateway-1-quiet'
  | 'gateway-10k'
  | 'bare-undici'
  | 'nginx'
  | 'auth-jwt-cached'
  | 'auth-jwt-uncached'
  | 'auth-api-key'
  | 'auth-external'
  | 'limits-local'
  | 'limits-global'
  | 'limits-global-precheck'
  | 'tracing-otlp'
  | 'tracing-unsampled'
  | 'cors-origin'
  | 'post-1k'
  | 'validation-1k'
  | 'gateway-tls-h1'
  | 'gateway-tls-h2'
  | 'nginx-tls-h1'
  | 'nginx-tls-h2'
  | 'cache-off-1k'
  | 'cache-hit-1k'
  | 'cache-off-100k'
  | 'cache-hit-100k';
export const PROXY_CASES: CaseName[] = ['gateway-1', 'gateway-1-quiet', 'gateway-10k', 'bare-undici', 'nginx'];
/** gateway-1 as shipped (the bench's --gateway-log-level, info: one access-log line per request) over this: logging off. */
export const LOGGING_OFF: CaseName = 'gateway-1-quiet';
export const AUTH_CASES: CaseName[] = ['auth-jwt-cached', 'auth-jwt-uncached', 'auth-api-key', 'auth-external'];
export const LIMIT_CASES: CaseName[] = ['limits-local', 'limits-global', 'limits-global-precheck'];
/** The rate-limit cases whose gateway needs Redis (started with --redis-url). */
export const GLOBAL_LIMIT_CASES: CaseName[] = ['limits-global', 'limits-global-precheck'];
/** gateway-1 with span export on (--otlp-endpoint to the bench's sink): every request sampled, or none (--otlp-sample 0). */
export const TRACING_CASES: CaseName[] = ['tracing-otlp', 'tracing-unsampled'];
/** gateway-1's route with CORS, every request carrying an allowed Origin (the answer gets the CORS fields). */
export const CORS_CASES: CaseName[] = ['cors-origin'];
/**
 * Request validation: a 1 KB JSON POST to gateway-1's route with a body schema (read whole, parsed, validated, sent on
 * as the same bytes), against the same POST to the route without one ("validation: none", streamed as usual).
 */
export const VALIDATION_BASELINE: CaseName = 'post-1k';
export const VALIDATION_CASES: CaseName[] = ['validation-1k'];
/**
 * The TLS listener: the gateway's HTTPS port and nginx `listen … ssl http2`, each loaded over HTTP/1.1 (wrk) and over
 * HTTP/2 (h2load), in front of the same upstream (plain HTTP/1.1). Compared with the plain gateway-1 and nginx.
 */
export const TLS_CASES: CaseName[] = ['gateway-tls-h1', 'gateway-tls-h2', 'nginx-tls-h1', 'nginx-tls-h2'];
/**
 * The response cache: gateway-1's route answering a 1 KB and a 100 KB body from the upstream (off: no cache block),
 * and the same route with a cache, every measured request a hit (docs/caching.md). Each hit case against its off case.
 */
export const CACHE_CASES: CaseName[] = ['cache-off-1k', 'cache-hit-1k', 'cache-off-100k', 'cache-hit-100k'];
export const CACHE_RATIOS: Array<[CaseName, CaseName]> = [
  ['cache-hit-1k', 'cache-off-1k'],
  ['cache-hit-100k', 'cache-off-100k'],
];
export const ALL_CASES: CaseName[] = [...PROXY_CASES, ...AUTH_CASES, ...LIMIT_CASES, ...TRACING_CASES, ...CORS_CASES, VALIDATION_BASELINE, ...VALIDATION_CASES, ...TLS_CASES, ...CACHE_CASES];
/** The authorizer cases are compared with the same one-route gateway without an Authorizer ("auth: none"). */
export const AUTH_BASELINE: CaseName = 'gateway-1';
/** The rate-limit cases are compared with the same one-route gateway without a RatePolicy ("limits: none"). */
export const LIMITS_BASELINE: CaseName = 'gateway-1';
/** The tracing cases are compared with the same gateway without --otlp-endpoint ("tracing: off"). */
export const TRACING_BASELINE: CaseName = 'gateway-1';
/** The CORS case is compared with the same gateway whose route has no CORS ("cors: none"). */
export const CORS_BASELINE: CaseName = 'gateway-1';
/** Names `--cases` accepts for a set of cases. */
export const CASE_GROUPS: Record<string, CaseName[]> = {
  proxy: PROXY_CASES,
  auth: [AUTH_BASELINE, ...AUTH_CASES],
  limits: [LIMITS_BASELINE, ...LIMIT_CASES],
  tracing: [TRACING_BASELINE, ...TRACING_CASES],
  cors: [CORS_BASELINE, ...CORS_CASES],
  validation: [VALIDATION_BASELINE, ...VALIDATION_CASES],
  tls: ['gateway-1', 'nginx', ...TLS_CASES],
  cache: CACHE_CASES,
};

export const CASE_LABELS: Record<CaseName, string> = {
  'gateway-1': 'gateway, 1 route',
  'gateway-1-quiet': 'gateway, 1 route, log off',
  'gateway-10k': 'gateway, 10,000 routes',
  'bare-undici': 'bare undici proxy',
  nginx: 'nginx proxy_pass',
  'auth-jwt-cached': 'auth: JWT (cache hit)',
  'auth-jwt-uncached': 'auth: JWT (RS256, uncached)',
  'auth-api-key': 'auth: API key',
  'auth-external': 'auth: external (cache hit)',
  'limits-local': 'limits: local',
  'limits-global': 'limits: global',
  'limits-global-precheck': 'limits: global pre-check',
  'tracing-otlp': 'tracing: OTLP, every request',
  'tracing-unsampled': 'tracing: OTLP, sample 0',
  'cors-origin': 'cors: allowed Origin',
  'post-1k': 'POST 1 KB JSON, no validation',
  'validation-1k': 'POST 1 KB JSON, validated',
  'gateway-tls-h1': 'gateway, TLS, HTTP/1.1',
  'gateway-tls-h2': 'gateway, TLS, HTTP/2',
  'nginx-tls-h1': 'nginx, TLS, HTTP/1.1',
  'nginx-tls-h2': 'nginx, TLS, HTTP/2',
  'cache-off-1k': 'cache: none, 1 KB body',
  'cache-hit-1k': 'cache: hit, 1 KB body',
  'cache-off-100k': 'cache: none, 100 KB body',
  'cache-hit-100k': 'cache: hit, 100 KB body',
};

/** The RatePolicy each rate-limit case's route names. */
const LIMIT_POLICIES: Partial<Record<CaseName, TableRatePolicy>> = {
  'limits-local': LOCAL_POLICY,
  'limits-global': GLOBAL_POLICY,
  'limits-global-precheck': PRECHECK_POLICY,
};

export function isGatewayCase(name: CaseName): boolean {
  return name.startsWith('gateway') || name === VALIDATION_BASELINE || VALIDATION_CASES.includes(name) || CACHE_CASES.includes(name) || CORS_CASES.includes(name) || AUTH_CASES.includes(name) || LIMIT_CASES.includes(name) || TRACING_CASES.includes(name);
}

/**
 * The credentials of the uncached JWT case: wrk walks the token list round-robin, and each wrk run (warmups included)
 * starts where the previous one stopped, so no token comes back before every other one was sent.
 */
export class TokenRotation {
  readonly file: string;
  readonly count: number;
  readonly #scriptFile: string;
  #cursor = 0;

  constructor(file: string, count: number, scriptFile: string) {
    this.file = file;
    this.count = count;
    this.#scriptFile = scriptFile;
  }

  /** A wrk script starting at the current position. */
  script(): string {
    writeFileSync(this.#scriptFile, rotatingScript(this.file, 'Authorization', 'Bearer ', this.#cursor));
    return this.#scriptFile;
  }

  /**
   * After a run: wrk counts completed requests; up to `connections` more were sent and not answered before it
   * stopped. Skipping those too means the next run never repeats a token of this one.
   */
  advance(completed: number, connections: number): void {
    this.#cursor = (this.#cursor + completed + connections) % this.count;
  }
}

/** What every request to a case carries besides the Host header. */
export interface CaseLoad {
  /** Extra request headers, "Name: value". */
  headers: string[];
  /** A different credential per request (the uncached JWT case). */
  rotation?: TokenRotation;
  /** Over TLS (https://): HTTP/1.1 with wrk, or HTTP/2 with h2load. Absent: plain HTTP/1.1 with wrk. */
  tls?: 'h1' | 'h2';
  /** Every request a POST with this JSON body (the validation cases). */
  jsonBody?: string;
}

export interface RunningCase {
  name: CaseName;
  port: number;
  process: Started;
  routes?: number;
  /** The gateway's admin port (its Prometheus metrics); gateway cases only. */
  adminPort?: number;
  /** The Authorizer the measured route enforces; authorizer cases only. */
  authorizerId?: string;
  /** The RatePolicy the measured route names; rate-limit cases only. */
  ratePolicyId?: string;
  /** The gateway was started with --redis-url (the Global rate-limit cases). */
  usesRedis: boolean;
  /** What every measured request must be answered: 200 from the upstream, or 429 from the gateway (the pre-check case). */
  expectedStatus: ExpectedStatus;
  load: CaseLoad;
  /** Headers of the one request sent before measuring (its credential). */
  preflightHeaders: Record<string, string>;
  /** The path measured, and the body it must answer, when not the usual (the cache cases). */
  path?: string;
  expectedBody?: string;
  /** Every measured request must be a cache hit (checked before measuring: the second request is one). */
  cacheHits?: boolean;
}

const GATEWAY_ENTRY = join(import.meta.dirname, '../proxy/server/start-gateway.ts');

/** The gateway cases need proxy/server/start-gateway.ts; until it exists they are skipped, not failed. */
export function gatewayAvailable(): boolean {
  return existsSync(GATEWAY_ENTRY);
}

/** Made once per run when an authorizer case is asked for (minting the rotating tokens takes seconds). */
export interface AuthFixtures {
  jwt: JwtIssuer;
  apiKey: ApiKeyFixture;
  external: DecisionService;
}

export interface CaseContext {
  tmpDir: string;
  upstreamPort: number;
  cpu: number | null;
  auth: AuthFixtures | null;
  /** The gateways' pino level (bench/gateway-process.ts --log-level). */
  gatewayLogLevel: string;
  /** Each gateway writes a V8 CPU profile (<case>.cpuprofile) here when stopped; null: no profiling. */
  cpuProfileDir: string | null;
  /** The Redis the Global rate-limit cases' gateways use (redis://127.0.0.1:port); null when none runs. */
  redisUrl: string | null;
  /** The OTLP sink the tracing cases' gateways export to (http://127.0.0.1:port/v1/traces); null when none runs. */
  otlpUrl: string | null;
  /** The certificate of the TLS cases (tls-fixtures.ts); null when none runs. */
  tls: TlsFiles | null;
}

function startGatewayCase(name: CaseName, table: RoutingTable, ctx: CaseContext, port: number, adminPort: number, extraArgs: string[] = []): Started {
  const tableFile = join(ctx.tmpDir, `${name}-table.json`);
  writeFileSync(tableFile, JSON.stringify(table));
  const entry = join(import.meta.dirname, 'gateway-process.ts');
  const profile = ctx.cpuProfileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', ctx.cpuProfileDir, '--cpu-prof-name', `${name}.cpuprofile`];
  // The V8 heap flags `gatehouse proxy` runs with (controller-heap-flags.ts): the gateway as shipped.
  const args = [...missingProxyHeapFlags(profile, undefined), ...profile, entry, '--table', tableFile, '--port', String(port), '--admin-port', String(adminPort), '--log-level', ctx.gatewayLogLevel, ...extraArgs];
  // The log goes to a file, as a pod's stdout goes to the node's log: the access log is part of what is measured.
  return startProcess(name, process.execPath, args, ctx.cpu, join(ctx.tmpDir, `${name}.log`));
}

/** The Authorizer, the credential the measured requests carry, and (uncached JWT) the rotation of credentials. */
function authSetup(name: CaseName, ctx: CaseContext): { policy: RoutePolicyFixture; load: CaseLoad; preflightHeaders: Record<string, string> } {
  const auth = ctx.auth;
  if (auth === null) throw new Error(`${name} needs the authorizer fixtures`);
  const policyOf = (authorizer: RoutePolicyFixture['authorizer']): RoutePolicyFixture => ({ auth: routeAuth(authorizer), authorizer });
  const bearer = `Bearer ${auth.jwt.token}`;
  switch (name) {
    case 'auth-jwt-cached':
      return { policy: policyOf(auth.jwt.config), load: { headers: [`Authorization: ${bearer}`] }, preflightHeaders: { authorization: bearer } };
    case 'auth-jwt-uncached': {
      if (auth.jwt.tokenCount === 0) throw new Error('no rotating tokens were minted');
      // The preflight token is not in the rotation, so the first measured request is a miss like all the others.
      const rotation = new TokenRotation(auth.jwt.tokensFile, auth.jwt.tokenCount, join(ctx.tmpDir, 'wrk-rotating-tokens.lua'));
      return { policy: policyOf(auth.jwt.config), load: { headers: [], rotation }, preflightHeaders: { authorization: bearer } };
    }
    case 'auth-api-key':
      return { policy: policyOf(auth.apiKey.config), load: { headers: [`x-api-key: ${auth.apiKey.key}`] }, preflightHeaders: { 'x-api-key': auth.apiKey.key } };
    case 'auth-external':
      return { policy: policyOf(auth.external.config), load: { headers: [`Authorization: ${EXTERNAL_CREDENTIAL}`] }, preflightHeaders: { authorization: EXTERNAL_CREDENTIAL } };
    default:
      throw new Error(`${name} is not an authorizer case`);
  }
}

function tlsFilesOf(name: CaseName, ctx: CaseContext): TlsFiles {
  if (ctx.tls === null) throw new Error(`${name} needs the bench's certificate`);
  return ctx.tls;
}

export async function startCase(name: CaseName, ctx: CaseContext): Promise<RunningCase> {
  const port = await freePort();
  let started: Started;
  let routes: number | undefined;
  let adminPort: number | undefined;
  let authorizerId: string | undefined;
  let ratePolicyId: string | undefined;
  let usesRedis = false;
  let expectedStatus: ExpectedStatus = 200;
  let load: CaseLoad = { headers: [] };
  let preflightHeaders: Record<string, string> = {};
  let measured: Pick<RunningCase, 'path' | 'expectedBody' | 'cacheHits'> = {};
  switch (name) {
    case 'cache-off-1k':
    case 'cache-hit-1k':
    case 'cache-off-100k':
    case 'cache-hit-100k': {
      const hit = name.startsWith('cache-hit');
      const table = oneRouteTable(ctx.upstreamPort, undefined, undefined, undefined, hit ? BENCH_CACHE : undefined);
      assertMeasuredRoute(table, table.routes[0]?.id ?? '');
      routes = table.routes.length;
      adminPort = await freePort();
      const body = CACHE_BODIES[name.endsWith('100k') ? '100k' : '1k'];
      measured = { path: body.path, expectedBody: body.body, cacheHits: hit };
      started = startGatewayCase(name, table, ctx, port, adminPort);
      break;
    }
    case 'gateway-1':
    case 'gateway-10k': {
      const table = name === 'gateway-1' ? oneRouteTable(ctx.upstreamPort) : tenThousandRouteTable(ctx.upstreamPort);
      assertMeasuredRoute(table, name === 'gateway-1' ? table.routes[0]?.id ?? '' : MEASURED_ROUTE_ID);
      routes = table.routes.length;
      adminPort = await freePort();
      started = startGatewayCase(name, table, ctx, port, adminPort);
      break;
    }
    case 'cors-origin': {
      const table = oneRouteTable(ctx.upstreamPort, undefined, undefined, BENCH_CORS);
      assertMeasuredRoute(table, table.routes[0]?.id ?? '');
      routes = table.routes.length;
      adminPort = await freePort();
      load = { headers: [`Origin: ${BENCH_CORS.allowOrigins[0] ?? ''}`] };
      started = startGatewayCase(name, table, ctx, port, adminPort);
      break;
    }
    case 'post-1k':
    case 'validation-1k': {
      const table = oneRouteTable(ctx.upstreamPort, undefined, undefined, undefined, undefined, name === 'validation-1k' ? BENCH_VALIDATION : undefined);
      assertMeasuredRoute(table, table.routes[0]?.id ?? '');
      routes = table.routes.length;
      adminPort = await freePort();
      load = { headers: ['Content-Type: application/json'], jsonBody: BENCH_JSON_BODY };
      started = startGatewayCase(name, table, ctx, port, adminPort);
      break;
    }
    case 'gateway-1-quiet': {
      const table = oneRouteTable(ctx.upstreamPort);
      assertMeasuredRoute(table, table.routes[0]?.id ?? '');
      routes = table.routes.length;
      adminPort = await freePort();
      // warn: no access-log line for a 2xx, the rest as shipped (the last --log-level given wins).
      started = startGatewayCase(name, table, ctx, port, adminPort, ['--log-level', 'warn']);
      break;
    }
    case 'auth-jwt-cached':
    case 'auth-jwt-uncached':
    case 'auth-api-key':
    case 'auth-external': {
      const setup = authSetup(name, ctx);
      const table = oneRouteTable(ctx.upstreamPort, setup.policy);
      assertMeasuredRoute(table, table.routes[0]?.id ?? '');
      routes = table.routes.length;
      adminPort = await freePort();
      authorizerId = setup.policy.authorizer.id;
      load = setup.load;
      preflightHeaders = setup.preflightHeaders;
      started = startGatewayCase(name, table, ctx, port, adminPort);
      break;
    }
    case 'limits-local':
    case 'limits-global':
    case 'limits-global-precheck': {
      const ratePolicy = LIMIT_POLICIES[name] as TableRatePolicy;
      const table = oneRouteTable(ctx.upstreamPort, undefined, ratePolicy);
      assertMeasuredRoute(table, table.routes[0]?.id ?? '');
      routes = table.routes.length;
      adminPort = await freePort();
      ratePolicyId = ratePolicy.id;
      usesRedis = GLOBAL_LIMIT_CASES.includes(name);
      if (usesRedis && ctx.redisUrl === null) throw new Error(`${name} needs the bench's redis-server`);
      expectedStatus = name === 'limits-global-precheck' ? 429 : 200;
      started = startGatewayCase(name, table, ctx, port, adminPort, usesRedis ? ['--redis-url', ctx.redisUrl as string] : []);
      break;
    }
    case 'tracing-otlp':
    case 'tracing-unsampled': {
      const table = oneRouteTable(ctx.upstreamPort);
      assertMeasuredRoute(table, table.routes[0]?.id ?? '');
      routes = table.routes.length;
      adminPort = await freePort();
      if (ctx.otlpUrl === null) throw new Error(`${name} needs the bench's OTLP sink`);
      // The shipped batching (5 s, 2048 spans, 512 per export): only the endpoint and the ratio are given.
      started = startGatewayCase(name, table, ctx, port, adminPort, ['--otlp-endpoint', ctx.otlpUrl, '--otlp-sample', name === 'tracing-otlp' ? '1' : '0']);
      break;
    }
    case 'gateway-tls-h1':
    case 'gateway-tls-h2': {
      // gateway-1's table and process; the measured port is its TLS listener (`port`), the plain one is unused.
      const table = oneRouteTable(ctx.upstreamPort);
      assertMeasuredRoute(table, table.routes[0]?.id ?? '');
      routes = table.routes.length;
      adminPort = await freePort();
      const tls = tlsFilesOf(name, ctx);
      started = startGatewayCase(name, table, ctx, await freePort(), adminPort, ['--https-port', String(port), '--tls-cert', tls.certFile, '--tls-key', tls.keyFile]);
      load = { headers: [], tls: name === 'gateway-tls-h1' ? 'h1' : 'h2' };
      break;
    }
    case 'nginx-tls-h1':
    case 'nginx-tls-h2': {
      const dir = join(ctx.tmpDir, name);
      started = startNginx(name, dir, proxyConf(dir, port, ctx.upstreamPort, tlsFilesOf(name, ctx)), ctx.cpu);
      load = { headers: [], tls: name === 'nginx-tls-h1' ? 'h1' : 'h2' };
      break;
    }
    case 'bare-undici': {
      const entry = join(import.meta.dirname, 'baselines/bare-undici-proxy.ts');
      started = startProcess(name, process.execPath, [entry, '--port', String(port), '--upstream', `http://${LOOPBACK}:${ctx.upstreamPort}`], ctx.cpu);
      break;
    }
    case 'nginx':
      started = startNginx(name, join(ctx.tmpDir, 'nginx-proxy'), proxyConf(join(ctx.tmpDir, 'nginx-proxy'), port, ctx.upstreamPort), ctx.cpu);
      break;
  }
  await waitForPort(port, started);
  return {
    name,
    port,
    process: started,
    load,
    preflightHeaders,
    usesRedis,
    expectedStatus,
    ...measured,
    ...(routes === undefined ? {} : { routes }),
    ...(adminPort === undefined ? {} : { adminPort }),
    ...(authorizerId === undefined ? {} : { authorizerId }),
    ...(ratePolicyId === undefined ? {} : { ratePolicyId }),
  };
}

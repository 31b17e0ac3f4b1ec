// `npm run bench`: requests/s and p50/p99 latency through the gateway (1 route, 10,000 routes),
// a bare undici proxy and nginx proxy_pass, the one-route gateway behind each kind of Authorizer,
// and the same route with Local and Global rate limits, and the gateway and nginx terminating TLS over HTTP/1.1 and
// HTTP/2, in one run, against one shared upstream.
// Proxies run on CPU 0; wrk, the upstream and Redis on CPU 1. See bench/README.md for the method.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { killChildrenOnExit, startProcess, stopAll } from './child-processes.ts';
import { freePort, waitForPort, LOOPBACK } from './ports.ts';
import { startNginx, upstreamConf } from './nginx.ts';
import {
  ALL_CASES,
  AUTH_BASELINE,
  AUTH_CASES,
  CASE_GROUPS,
  GLOBAL_LIMIT_CASES,
  LIMIT_CASES,
  LIMITS_BASELINE,
  TRACING_BASELINE,
  CORS_BASELINE,
  VALIDATION_CASES,
  TRACING_CASES,
  TLS_CASES,
  gatewayAvailable,
  isGatewayCase,
  startCase,
  type AuthFixtures,
  type CaseName,
  type RunningCase,
} from './proxy-cases.ts';
import { createApiKeys, createJwtIssuer, startDecisionService, GATEWAY_TOKEN_CACHE, ROTATING_TOKENS, type DecisionService } from './auth-fixtures.ts';
import { GLOBAL_POLICY, LOCAL_POLICY, PRECHECK_POLICY, redisBetween, startRedis, type RedisFixture } from './limit-fixtures.ts';
import { countersBetween, readCounters, waitForRedisUp } from './gateway-counters.ts';
import { preflight } from './preflight.ts';
import { postScript, runWrk, type WrkResult } from './wrk.ts';
import { runH2load } from './h2load.ts';
import { benchCertificate } from './tls-fixtures.ts';
import { MEASURED_HOST, MEASURED_PATH } from './bench-tables.ts';
import {
  authTargets,
  formatReport,
  invalidReasons,
  limitTargets,
  ratios,
  summarizeCase,
  summarizeRun,
  writeReport,
  AUTH_TARGETS,
  LIMIT_TARGETS,
  TARGET_RATIO,
  type BenchReport,
  type RunSummary,
} from './report.ts';
import { describeEnvironment } from './environment.ts';
import { cpuSeconds, machineBusy } from './cpu-time.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    cases: { type: 'string', default: ALL_CASES.join(',') },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
    'no-save': { type: 'boolean', default: false },
    // warn: the method of every gateway case (no access log, as nginx runs with access_log off); `gatehouse proxy` runs at info.
    'gateway-log-level': { type: 'string', default: 'info' },
    // A diagnostic, not a measurement (sampling costs the gateways a few percent): each gateway writes a V8 CPU profile
    // of its whole life into this directory when the bench stops it.
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  const targets = (list: typeof AUTH_TARGETS): string => list.map((t) => `${t.case} ≥ ${t.min}`).join(', ');
  console.log(`usage: node bench/run.ts [options]   (npm run bench)

Requests/s and latency of each case, measured with wrk on a pinned core, ratios against baselines of the same run.

options:
  --duration S            seconds measured per case and round (default 10)
  --warmup S              seconds of load before each measurement, not measured (default 3; 0: none)
  --rounds N              rounds over all cases, order rotated each round (default 3)
  --connections N         wrk connections (default 50)
  --cases LIST            comma-separated case names and groups (default: all cases)
  --out DIR               where results are written (default bench/results)
  --no-save               do not write results
  --gateway-log-level L   the gateways' pino level (default info, as shipped: one access-log line per request,
                          written to a file in the bench's temporary folder)
  --cpu-prof DIR          diagnosis: a V8 CPU profile per gateway, written when it stops
  -h, --help              this text

cases: ${ALL_CASES.join(', ')}
groups:
  proxy    ${CASE_GROUPS.proxy?.join(', ')}
  auth     ${CASE_GROUPS.auth?.join(', ')}
           (${AUTH_BASELINE} is "auth: none"; targets ${targets(AUTH_TARGETS)})
  limits   ${CASE_GROUPS.limits?.join(', ')}
           (${LIMITS_BASELINE} is "limits: none"; limits-local: a Local token bucket never reached; limits-global: the
           same, Global, in a redis-server the bench starts; limits-global-precheck: an exhausted Global limit, every
           request answered 429 from the remembered refusal without Redis; targets ${targets(LIMIT_TARGETS)})
  tls      ${CASE_GROUPS.tls?.join(', ')}
           (the gateway's TLS listener and nginx \`listen … ssl http2\`, each over HTTP/1.1 with wrk and over HTTP/2
           with h2load, 1 stream per connection; against the plain gateway-1 and nginx)
  tracing  ${CASE_GROUPS.tracing?.join(', ')}
           (${TRACING_BASELINE} is "tracing: off"; tracing-otlp: --otlp-endpoint to a sink the bench starts on the load
           core, every request's span exported with the shipped batching; tracing-unsampled: the same with
           --otlp-sample 0, the tracer on and no span recorded)
  cors     ${CASE_GROUPS.cors?.join(', ')}
           (${CORS_BASELINE} is "cors: none"; cors-origin: the same route with CORS, every request with an allowed Origin)
  cache    ${CASE_GROUPS.cache?.join(', ')}
           (gateway-1's route answering a 1 KB / 100 KB upstream body, without a cache and with one where every
           measured request is a hit; target: hit ≥ 1.5× its "cache: none")
  validation ${CASE_GROUPS.validation?.join(', ')}
           (post-1k is "validation: none": a 1 KB JSON POST to gateway-1's route; validation-1k: the same POST to the
           route with a body schema (read whole, parsed, validated, sent on unchanged); target ≤ 20% cost)

Needs wrk and nginx (and redis-server for the Global limit cases, h2load and openssl for the tls group), two CPUs
and taskset. Exits 1 when a measured
request got another answer than expected (2xx; 429 for the pre-check case) or a case decided what it must not; 3 when
nothing was wrong but deadlines were missed (Redis decisions timed out, spans not exported): the machine was too busy
for the numbers to mean what they say. See bench/README.md.`);
  process.exit(0);
}
const params = {
  durationSec: Number(values.duration),
  warmupSec: Number(values.warmup),
  connections: Number(values.connections),
  threads: 1,
  rounds: Number(values.rounds),
};
const cpuProfileDir = values['cpu-prof'] === undefined ? null : resolve(values['cpu-prof']);
// Case names, or group names (`auth`: the authorizer cases and their baseline; `proxy`: the four proxies).
const requested = [
  ...new Set(
    values.cases.split(',').flatMap((c) => {
      const name = c.trim();
      const group = CASE_GROUPS[name];
      if (group !== undefined) return group;
      if (!ALL_CASES.includes(name as CaseName)) throw new Error(`unknown case ${name}; known: ${ALL_CASES.join(', ')}; groups: ${Object.keys(CASE_GROUPS).join(', ')}`);
      return [name as CaseName];
    }),
  ),
];
if (requested.some((c) => AUTH_CASES.includes(c)) && !requested.includes(AUTH_BASELINE)) {
  console.warn(`bench: ${AUTH_BASELINE} (auth: none) is not among the cases, so the authorizer cases get no ratios`);
}
if (requested.some((c) => LIMIT_CASES.includes(c)) && !requested.includes(LIMITS_BASELINE)) {
  console.warn(`bench: ${LIMITS_BASELINE} (limits: none) is not among the cases, so the rate-limit cases get no ratios`);
}
if (requested.some((c) => TRACING_CASES.includes(c)) && !requested.includes(TRACING_BASELINE)) {
  console.warn(`bench: ${TRACING_BASELINE} (tracing: off) is not among the cases, so the tracing cases get no ratios`);
}
const needsRedis = requested.some((c) => GLOBAL_LIMIT_CASES.includes(c));
const needsTls = requested.some((c) => TLS_CASES.includes(c));

function hasCommand(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as { code?: string }).code !== 'ENOENT';
  }
}

for (const tool of ['wrk', 'nginx']) {
  const found = tool === 'nginx' ? hasCommand('/usr/sbin/nginx', ['-v']) || hasCommand('nginx', ['-v']) : hasCommand('wrk', ['-v']);
  if (!found) throw new Error(`${tool} is not installed (apt-get install ${tool}; .ci/run does this)`);
}
if (needsTls && !hasCommand('h2load', ['--version'])) {
  throw new Error(`h2load is not installed; the cases ${TLS_CASES.join(', ')} need it (apt-get install nghttp2-client; .ci/run does this)`);
}
if (needsRedis && !hasCommand('redis-server', ['--version'])) {
  throw new Error(`redis-server is not installed; the cases ${GLOBAL_LIMIT_CASES.join(', ')} need it (apt-get install redis-server)`);
}
// Two cores: the proxy alone on one, load generator and upstream on the other.
const pinned = cpus().length >= 2 && hasCommand('taskset', ['-V']);
const PROXY_CPU = pinned ? 0 : null;
const LOAD_CPU = pinned ? 1 : null;
if (!pinned) console.warn('bench: fewer than 2 CPUs or no taskset: running unpinned, numbers are not comparable');

killChildrenOnExit();
const tmpDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
// On every way out, Ctrl-C included (its handler exits before `finally` would run).
process.once('exit', () => rmSync(tmpDir, { recursive: true, force: true }));
const skipped: BenchReport['skipped'] = [];
/** In-process servers (the decision service) and the bench's Redis connection, closed after / before the children. */
const services: { decision: DecisionService | null; redis: RedisFixture | null } = { decision: null, redis: null };

/** The issuer key and tokens, the API keys and the decision service, when an authorizer case runs. */
async function authFixtures(): Promise<{ fixtures: AuthFixtures; info: Record<string, string | number> } | null> {
  if (!requested.some((c) => AUTH_CASES.includes(c)) || !gatewayAvailable()) return null;
  const tokens = requested.includes('auth-jwt-uncached') ? ROTATING_TOKENS : 0;
  if (tokens > 0) console.log(`minting ${tokens.toLocaleString('en-US')} RS256 tokens for the uncached JWT case…`);
  const jwt = await createJwtIssuer(tmpDir, tokens);
  if (tokens > 0) console.log(`minted ${tokens.toLocaleString('en-US')} tokens in ${(jwt.mintMs / 1000).toFixed(1)} s`);
  const apiKey = createApiKeys();
  const decisionService = await startDecisionService();
  services.decision = decisionService;
  const info = {
    baseline: `auth: none = ${AUTH_BASELINE}`,
    jwt: 'RS256, RSA-2048, public JWK inline',
    tokenBytes: jwt.token.length,
    rotatingTokens: tokens,
    gatewayTokenCache: GATEWAY_TOKEN_CACHE,
    mintSeconds: Math.round(jwt.mintMs / 100) / 10,
    apiKeys: apiKey.config.keys.length,
  };
  return { fixtures: { jwt, apiKey, external: decisionService }, info };
}

/** How a rate-limit policy's one limit reads in the report. */
function describeLimit(policy: typeof LOCAL_POLICY): string {
  const l = policy.limits[0];
  if (l === undefined || l.rule.kind !== 'tokenBucket') return policy.id;
  return `${policy.id}: ${l.scope} token bucket ${l.rule.rate.toLocaleString('en-US')}/${l.rule.periodMs / 1000}s burst ${l.rule.burst.toLocaleString('en-US')}, key ClientIP`;
}

/** The redis-server of the Global cases (started only when one runs), and how the rate-limit cases were set up. */
async function limitFixtures(): Promise<{ redis: RedisFixture | null; info: Record<string, string | number> } | null> {
  if (!requested.some((c) => LIMIT_CASES.includes(c)) || !gatewayAvailable()) return null;
  let redis: RedisFixture | null = null;
  if (needsRedis) {
    const dir = join(tmpDir, 'redis');
    mkdirSync(dir);
    redis = await startRedis(dir, LOAD_CPU);
    services.redis = redis;
  }
  const info: Record<string, string | number> = {
    baseline: `limits: none = ${LIMITS_BASELINE}`,
    local: describeLimit(LOCAL_POLICY),
    global: describeLimit(GLOBAL_POLICY),
    preCheck: describeLimit(PRECHECK_POLICY),
    responseHeaders: 'Always (RateLimit-Policy and RateLimit on every answer)',
    ...(redis === null
      ? {}
      : {
          redis: `redis-server ${redis.version} on ${LOOPBACK}:${redis.port}, CPU ${LOAD_CPU ?? 'unpinned'}, no persistence; gateways: --redis-url only (shipped defaults: --redis-timeout 100ms)`,
        }),
  };
  return { redis, info };
}

/** The OTLP sink of the tracing cases (its own process on the load core), when one runs: its traces URL. */
async function otlpSink(): Promise<string | null> {
  if (!requested.some((c) => TRACING_CASES.includes(c)) || !gatewayAvailable()) return null;
  const port = await freePort();
  const sink = startProcess('otlp-sink', process.execPath, [join(import.meta.dirname, 'otlp-sink.ts'), '--port', String(port)], LOAD_CPU);
  await waitForPort(port, sink);
  return `http://${LOOPBACK}:${port}/v1/traces`;
}

async function main(): Promise<BenchReport> {
  // Other work on the machine competes for both cores; say so rather than publish skewed numbers.
  const busyBefore = await machineBusy(1000);
  if (busyBefore > 0.1) console.warn(`bench: the machine is already ${Math.round(busyBefore * 100)}% busy; req/s will be low and noisy (req/cpu-s less so)`);
  const upstreamPort = await freePort();
  const upstreamDir = join(tmpDir, 'nginx-upstream');
  const upstream = startNginx('upstream', upstreamDir, upstreamConf(upstreamDir, upstreamPort), LOAD_CPU);
  await waitForPort(upstreamPort, upstream);
  const auth = await authFixtures();
  const limits = await limitFixtures();
  const otlpUrl = await otlpSink();
  const tls = needsTls ? benchCertificate(tmpDir) : null;

  const running: RunningCase[] = [];
  for (const name of requested) {
    if (isGatewayCase(name) && !gatewayAvailable()) {
      skipped.push({ case: name, reason: 'proxy/server/start-gateway.ts does not exist yet' });
      continue;
    }
    const c = await startCase(name, {
      tmpDir,
      upstreamPort,
      cpu: PROXY_CPU,
      auth: auth?.fixtures ?? null,
      gatewayLogLevel: values['gateway-log-level'],
      cpuProfileDir,
      redisUrl: limits?.redis?.url ?? null,
      otlpUrl,
      tls,
    });
    // A request before the gateway's Redis connection is ready would be decided by the local fallback.
    if (c.usesRedis && c.adminPort !== undefined) await waitForRedisUp(c.adminPort);
    await preflight(name, c.port, MEASURED_HOST, c.path ?? MEASURED_PATH, {
      headers: c.preflightHeaders,
      ...(c.expectedBody === undefined ? {} : { body: c.expectedBody }),
      ...(c.cacheHits === undefined ? {} : { cacheHits: c.cacheHits }),
      refusedWithout: c.authorizerId !== undefined,
      rateLimited: c.ratePolicyId !== undefined,
      exhausted: c.expectedStatus === 429,
      ...(c.load.jsonBody === undefined ? {} : { jsonBody: c.load.jsonBody, validated: VALIDATION_CASES.includes(c.name) }),
      ...(c.load.tls === undefined || tls === null ? {} : { tls: { ca: readFileSync(tls.certFile), h2: c.load.tls === 'h2' } }),
    });
    running.push(c);
    console.log(`started ${name} on ${LOOPBACK}:${c.port}${c.routes === undefined ? '' : ` (${c.routes} routes)`}${c.expectedStatus === 429 ? ' (expects 429 to every measured request)' : ''}`);
  }

  const runs = new Map<CaseName, RunSummary[]>(running.map((c) => [c.name, []]));
  for (let round = 0; round < params.rounds; round++) {
    // Rotate the order each round so no case always runs first (or right after the heaviest one).
    const order = running.map((_, i) => running[(i + round) % running.length] as RunningCase);
    for (const c of order) {
      const wrk = {
        url: `${c.load.tls === undefined ? 'http' : 'https'}://${LOOPBACK}:${c.port}${c.path ?? MEASURED_PATH}`,
        host: MEASURED_HOST,
        threads: params.threads,
        connections: params.connections,
        cpu: LOAD_CPU,
        headers: c.load.headers,
      };
      const rotation = c.load.rotation;
      const load = async (durationSec: number): Promise<WrkResult> => {
        // The same concurrency as wrk's: one request in flight on each of the connections.
        if (c.load.tls === 'h2') return runH2load({ ...wrk, durationSec, streamsPerConnection: 1, logFile: join(tmpDir, 'h2load.log') });
        const script = rotation !== undefined ? rotation.script() : c.load.jsonBody !== undefined ? postScript(c.load.jsonBody, join(tmpDir, `${c.name}.lua`)) : undefined;
        const r = await runWrk({ ...wrk, durationSec, ...(script === undefined ? {} : { script }) });
        rotation?.advance(r.requests, params.connections);
        return r;
      };
      if (params.warmupSec > 0) await load(params.warmupSec);
      // The gateway's and Redis's own counts around the measurement (read outside its CPU window).
      const redis = c.usesRedis ? services.redis : null;
      const countersBefore = c.adminPort === undefined ? undefined : await readCounters(c.adminPort);
      const redisBefore = redis === null ? undefined : await redis.stats();
      const pid = c.process.child.pid ?? 0;
      const cpuBefore = cpuSeconds(pid);
      const measured = await load(params.durationSec);
      const cpu = cpuSeconds(pid) - cpuBefore;
      const redisUsed = redis === null || redisBefore === undefined ? undefined : redisBetween(redisBefore, await redis.stats());
      const counters = c.adminPort === undefined || countersBefore === undefined ? undefined : countersBetween(countersBefore, await readCounters(c.adminPort));
      const result = summarizeRun(measured, cpu, {
        expectedStatus: c.expectedStatus,
        ...(counters === undefined ? {} : { gateway: counters }),
        ...(redisUsed === undefined ? {} : { redis: redisUsed }),
      });
      runs.get(c.name)?.push(result);
      const authLine = c.authorizerId === undefined || counters === undefined ? '' : `  auth allowed ${counters.allowed} refused ${counters.refused} cache hit ${counters.cacheHits} miss ${counters.cacheMisses}`;
      const limitLine =
        c.ratePolicyId === undefined || counters === undefined
          ? ''
          : `  limit admitted ${counters.limitAllowed} limited ${counters.limitLimited} fallback ${counters.limitFallback}` +
            (result.redis === undefined ? '' : `  redis ${result.redis.scriptsPerRequest.toFixed(2)} scripts/req ${result.redis.commandsPerRequest.toFixed(2)} cmds/req`);
      const spanLine =
        !TRACING_CASES.includes(c.name) || counters === undefined ? '' : `  spans exported ${counters.spansExported} failed ${counters.spansFailed} dropped ${counters.spansDropped}`;
      console.log(
        `round ${round + 1}/${params.rounds} ${c.name.padEnd(22)} ${Math.round(result.rps).toString().padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  ` +
          `${c.expectedStatus === 429 ? 'not 429' : 'errors'} ${result.errors}  cpu ${Math.round(result.proxyCpuShare * 100)}%  ${Math.round(result.requestsPerCpuSecond)} req/cpu-s${authLine}${limitLine}${spanLine}`,
      );
    }
  }

  const cases: BenchReport['cases'] = {};
  for (const c of running) cases[c.name] = summarizeCase(c.name, runs.get(c.name) ?? [], c.routes, c.expectedStatus);
  const r = ratios(cases, 'rps');
  const targetValue = r['gateway-10k / bare-undici'] ?? null;
  const authInfo = auth === null ? undefined : { ...auth.info, decisionServiceCalls: services.decision?.calls() ?? 0 };
  return {
    date: new Date().toISOString(),
    environment: { ...describeEnvironment(), machineBusyBeforeStart: Math.round(busyBefore * 100) / 100 },
    params: {
      ...params,
      proxyCpu: PROXY_CPU ?? 'unpinned',
      loadCpu: LOAD_CPU ?? 'unpinned',
      upstream: 'nginx return 200 (1 worker)',
      gatewayLogLevel: values['gateway-log-level'],
      ...(cpuProfileDir === null ? {} : { cpuProfileDir }),
    },
    request: { host: MEASURED_HOST, path: MEASURED_PATH },
    cases,
    ratios: r,
    ratiosPerCpu: ratios(cases, 'requestsPerCpuSecond'),
    target: { metric: 'gateway-10k / bare-undici', min: TARGET_RATIO, value: targetValue, met: targetValue === null ? null : targetValue >= TARGET_RATIO },
    authTargets: authTargets(cases),
    ...(authInfo === undefined ? {} : { auth: authInfo }),
    limitTargets: limitTargets(cases),
    ...(limits === null ? {} : { limits: limits.info }),
    skipped,
  };
}

let exitCode = 0;
try {
  const report = await main();
  console.log(`\n${formatReport(report)}`);
  if (!values['no-save']) console.log(`\nwrote ${writeReport(report, values.out)} and latest.json`);
  const invalid = invalidReasons(report);
  if (invalid.wrong.length > 0) {
    console.error(`bench: the numbers are not valid:\n  ${[...invalid.wrong, ...invalid.disturbed].join('\n  ')}`);
    exitCode = 1;
  } else if (invalid.disturbed.length > 0) {
    // Nothing is broken, but deadlines were missed: the machine was too busy for these numbers to mean what they say.
    console.error(`bench: the numbers were disturbed (deadlines missed; a loaded machine?), not valid as measurements:\n  ${invalid.disturbed.join('\n  ')}`);
    exitCode = 3;
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  exitCode = 1;
} finally {
  services.redis?.disconnect();
  await stopAll();
  await services.decision?.close();
}
process.exitCode = exitCode;

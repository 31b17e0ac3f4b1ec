// `npm run bench`: requests/s and p50/p99 latency through the gateway (1 route, 10,000 routes),
// a bare undici proxy and nginx proxy_pass, and the one-route gateway behind each kind of Authorizer,
// in one run, against one shared upstream.
// Proxies run on CPU 0; wrk and the upstream on CPU 1. See bench/README.md for the method.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { killChildrenOnExit, stopAll } from './child-processes.ts';
import { freePort, waitForPort, LOOPBACK } from './ports.ts';
import { startNginx, upstreamConf } from './nginx.ts';
import { ALL_CASES, AUTH_BASELINE, AUTH_CASES, CASE_GROUPS, gatewayAvailable, isGatewayCase, startCase, type AuthFixtures, type CaseName, type RunningCase } from './proxy-cases.ts';
import { createApiKeys, createJwtIssuer, startDecisionService, GATEWAY_TOKEN_CACHE, ROTATING_TOKENS, type DecisionService } from './auth-fixtures.ts';
import { countersBetween, readCounters } from './gateway-counters.ts';
import { preflight } from './preflight.ts';
import { runWrk, type WrkResult } from './wrk.ts';
import { MEASURED_HOST, MEASURED_PATH } from './bench-tables.ts';
import { authTargets, formatReport, invalidReasons, ratios, summarizeCase, summarizeRun, writeReport, TARGET_RATIO, type BenchReport, type RunSummary } from './report.ts';
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
    'gateway-log-level': { type: 'string', default: 'warn' },
    // A diagnostic, not a measurement (sampling costs the gateways a few percent): each gateway writes a V8 CPU profile
    // of its whole life into this directory when the bench stops it.
    'cpu-prof': { type: 'string' },
  },
});
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
/** In-process servers (the decision service), closed after the children. */
const services: { decision: DecisionService | null } = { decision: null };

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

async function main(): Promise<BenchReport> {
  // Other work on the machine competes for both cores; say so rather than publish skewed numbers.
  const busyBefore = await machineBusy(1000);
  if (busyBefore > 0.1) console.warn(`bench: the machine is already ${Math.round(busyBefore * 100)}% busy; req/s will be low and noisy (req/cpu-s less so)`);
  const upstreamPort = await freePort();
  const upstreamDir = join(tmpDir, 'nginx-upstream');
  const upstream = startNginx('upstream', upstreamDir, upstreamConf(upstreamDir, upstreamPort), LOAD_CPU);
  await waitForPort(upstreamPort, upstream);
  const auth = await authFixtures();

  const running: RunningCase[] = [];
  for (const name of requested) {
    if (isGatewayCase(name) && !gatewayAvailable()) {
      skipped.push({ case: name, reason: 'proxy/server/start-gateway.ts does not exist yet' });
      continue;
    }
    const c = await startCase(name, { tmpDir, upstreamPort, cpu: PROXY_CPU, auth: auth?.fixtures ?? null, gatewayLogLevel: values['gateway-log-level'], cpuProfileDir });
    await preflight(name, c.port, MEASURED_HOST, MEASURED_PATH, { headers: c.preflightHeaders, refusedWithout: c.authorizerId !== undefined });
    running.push(c);
    console.log(`started ${name} on ${LOOPBACK}:${c.port}${c.routes === undefined ? '' : ` (${c.routes} routes)`}`);
  }

  const runs = new Map<CaseName, RunSummary[]>(running.map((c) => [c.name, []]));
  for (let round = 0; round < params.rounds; round++) {
    // Rotate the order each round so no case always runs first (or right after the heaviest one).
    const order = running.map((_, i) => running[(i + round) % running.length] as RunningCase);
    for (const c of order) {
      const wrk = {
        url: `http://${LOOPBACK}:${c.port}${MEASURED_PATH}`,
        host: MEASURED_HOST,
        threads: params.threads,
        connections: params.connections,
        cpu: LOAD_CPU,
        headers: c.load.headers,
      };
      const rotation = c.load.rotation;
      const load = async (durationSec: number): Promise<WrkResult> => {
        const r = await runWrk({ ...wrk, durationSec, ...(rotation === undefined ? {} : { script: rotation.script() }) });
        rotation?.advance(r.requests, params.connections);
        return r;
      };
      if (params.warmupSec > 0) await load(params.warmupSec);
      // The gateway's own counts around the measurement (read outside its CPU window).
      const countersBefore = c.adminPort === undefined ? undefined : await readCounters(c.adminPort);
      const pid = c.process.child.pid ?? 0;
      const cpuBefore = cpuSeconds(pid);
      const measured = await load(params.durationSec);
      const cpu = cpuSeconds(pid) - cpuBefore;
      const counters = c.adminPort === undefined || countersBefore === undefined ? undefined : countersBetween(countersBefore, await readCounters(c.adminPort));
      const result = summarizeRun(measured, cpu, counters);
      runs.get(c.name)?.push(result);
      const authLine = c.authorizerId === undefined || counters === undefined ? '' : `  auth allowed ${counters.allowed} refused ${counters.refused} cache hit ${counters.cacheHits} miss ${counters.cacheMisses}`;
      console.log(
        `round ${round + 1}/${params.rounds} ${c.name.padEnd(17)} ${Math.round(result.rps).toString().padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}  cpu ${Math.round(result.proxyCpuShare * 100)}%  ${Math.round(result.requestsPerCpuSecond)} req/cpu-s${authLine}`,
      );
    }
  }

  const cases: BenchReport['cases'] = {};
  for (const c of running) cases[c.name] = summarizeCase(c.name, runs.get(c.name) ?? [], c.routes);
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
    skipped,
  };
}

let exitCode = 0;
try {
  const report = await main();
  console.log(`\n${formatReport(report)}`);
  if (!values['no-save']) console.log(`\nwrote ${writeReport(report, values.out)} and latest.json`);
  const invalid = invalidReasons(report);
  if (invalid.length > 0) {
    console.error(`bench: the numbers are not valid:\n  ${invalid.join('\n  ')}`);
    exitCode = 1;
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  exitCode = 1;
} finally {
  await stopAll();
  await services.decision?.close();
}
process.exitCode = exitCode;

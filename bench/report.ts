// Turns wrk runs into the summary: per-case throughput and latency, the ratios the target is
// stated in, a printed table, and the JSON written to bench/results/.
import { AUTH_BASELINE, AUTH_CASES, CASE_LABELS, GLOBAL_LIMIT_CASES, LIMIT_CASES, LIMITS_BASELINE, LOGGING_OFF, TRACING_BASELINE, TRACING_CASES, CORS_BASELINE, CORS_CASES, CACHE_RATIOS, VALIDATION_BASELINE, VALIDATION_CASES, type CaseName } from './proxy-cases.ts';
import { errorCount, requestsPerSecond, type ExpectedStatus, type WrkResult } from './wrk.ts';
import { writeResultFiles } from './results-file.ts';
import { addCounters, NO_COUNTERS, type GatewayCounters } from './gateway-counters.ts';
import { addRedisCounts, NO_REDIS_COUNTS, type RedisCommandCounts } from './limit-fixtures.ts';

export const TARGET_RATIO = 0.8;

/**
 * The tls group's ratios: what TLS costs the gateway (over plain HTTP/1.1), what HTTP/2 costs over HTTP/1.1 on the same
 * TLS port (issue 12's measure), and each against nginx doing the same in the same run; nginx's own TLS cost alongside.
 */
const TLS_RATIOS: Array<[CaseName, CaseName]> = [
  ['gateway-tls-h1', 'gateway-1'],
  ['gateway-tls-h2', 'gateway-tls-h1'],
  ['gateway-tls-h1', 'nginx-tls-h1'],
  ['gateway-tls-h2', 'nginx-tls-h2'],
  ['nginx-tls-h1', 'nginx'],
  ['nginx-tls-h2', 'nginx-tls-h1'],
];
/** The access log as shipped may cost at most 10% throughput: gateway-1 over the same gateway with logging off. */
export const ACCESS_LOG_TARGET = 0.9;

/** Throughput an Authorizer may cost: each case's req/s over the same gateway without one (reported, not asserted). */
export const AUTH_TARGETS: ReadonlyArray<{ case: CaseName; min: number }> = [
  { case: 'auth-jwt-cached', min: 0.9 },
  { case: 'auth-api-key', min: 0.9 },
  { case: 'auth-jwt-uncached', min: 0.5 },
];

/** Throughput a rate limit may cost: each case's req/s over the same gateway without a RatePolicy (reported, not asserted). */
export const LIMIT_TARGETS: ReadonlyArray<{ case: CaseName; min: number }> = [
  { case: 'limits-local', min: 0.95 },
  { case: 'limits-global', min: 0.75 },
];

export interface CaseTarget {
  metric: string;
  min: number;
  value: number | null;
  /** The same ratio over requests per CPU-second. */
  valuePerCpu: number | null;
  met: boolean | null;
}

export type AuthTarget = CaseTarget;

/** What Redis served during a measurement (INFO before and after; the script's own commands included), and per wrk request. */
export interface RedisUse extends RedisCommandCounts {
  commandsPerRequest: number;
  scriptsPerRequest: number;
}

export interface RunSummary {
  /** Requests wrk completed (a case summary: the mean over rounds). */
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Share of one core the proxy got during the run (1 = all of CPU 0). */
  proxyCpuShare: number;
  /** Requests per CPU-second of the proxy: robust when something else competes for its core. */
  requestsPerCpuSecond: number;
  /** Gateway cases: what the gateway counted during the measurement (its metrics before and after). */
  gateway?: GatewayCounters;
  /** Global rate-limit cases: the commands Redis served during the measurement. */
  redis?: RedisUse;
}

export interface CaseSummary extends RunSummary {
  label: string;
  routes?: number;
  /** The answer every measured request must get: 200 from the upstream, or 429 from the gateway (the pre-check case). */
  expectedStatus: ExpectedStatus;
  runs: RunSummary[];
}

export interface BenchReport {
  date: string;
  environment: Record<string, string | number>;
  params: Record<string, string | number>;
  request: { host: string; path: string };
  cases: Partial<Record<CaseName, CaseSummary>>;
  ratios: Record<string, number>;
  /** The same ratios over requests per CPU-second of each proxy. */
  ratiosPerCpu: Record<string, number>;
  target: { metric: string; min: number; value: number | null; met: boolean | null };
  /** Authorizer cases over "auth: none" (the one-route gateway, same run). */
  authTargets: CaseTarget[];
  /** How the authorizer cases were set up (absent when none ran). */
  auth?: Record<string, string | number>;
  /** Rate-limit cases over "limits: none" (the one-route gateway, same run). */
  limitTargets: CaseTarget[];
  /** How the rate-limit cases were set up (absent when none ran). */
  limits?: Record<string, string | number>;
  skipped: { case: CaseName; reason: string }[];
}

function redisUse(counts: RedisCommandCounts, requests: number): RedisUse {
  return { ...counts, commandsPerRequest: requests > 0 ? counts.commands / requests : 0, scriptsPerRequest: requests > 0 ? counts.scripts / requests : 0 };
}

export interface RunExtras {
  gateway?: GatewayCounters;
  redis?: RedisCommandCounts;
  expectedStatus?: ExpectedStatus;
}

export function summarizeRun(r: WrkResult, proxyCpuSeconds: number, extras: RunExtras = {}): RunSummary {
  const seconds = r.durationUs / 1e6;
  return {
    ...(extras.gateway === undefined ? {} : { gateway: extras.gateway }),
    ...(extras.redis === undefined ? {} : { redis: redisUse(extras.redis, r.requests) }),
    requests: r.requests,
    rps: requestsPerSecond(r),
    p50Ms: r.latencyUs.p50 / 1000,
    p99Ms: r.latencyUs.p99 / 1000,
    errors: errorCount(r, extras.expectedStatus),
    proxyCpuShare: proxyCpuSeconds / seconds,
    requestsPerCpuSecond: proxyCpuSeconds > 0 ? r.requests / proxyCpuSeconds : 0,
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Rounds are averaged: each round measures every case once, so drift hits all cases alike. */
export function summarizeCase(name: CaseName, runs: RunSummary[], routes?: number, expectedStatus: ExpectedStatus = 200): CaseSummary {
  const requests = runs.reduce((a, r) => a + r.requests, 0);
  return {
    label: CASE_LABELS[name],
    ...(routes === undefined ? {} : { routes }),
    expectedStatus,
    requests: mean(runs.map((r) => r.requests)),
    rps: mean(runs.map((r) => r.rps)),
    p50Ms: mean(runs.map((r) => r.p50Ms)),
    p99Ms: mean(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    proxyCpuShare: mean(runs.map((r) => r.proxyCpuShare)),
    requestsPerCpuSecond: mean(runs.map((r) => r.requestsPerCpuSecond)),
    ...(runs.some((r) => r.gateway !== undefined) ? { gateway: runs.reduce((a, r) => addCounters(a, r.gateway ?? NO_COUNTERS), NO_COUNTERS) } : {}),
    ...(runs.some((r) => r.redis !== undefined) ? { redis: redisUse(runs.reduce((a, r) => addRedisCounts(a, r.redis ?? NO_REDIS_COUNTS), NO_REDIS_COUNTS), requests) } : {}),
    runs,
  };
}

export function ratios(cases: BenchReport['cases'], metric: 'rps' | 'requestsPerCpuSecond'): Record<string, number> {
  const out: Record<string, number> = {};
  const pairs: [CaseName, CaseName][] = [
    ['gateway-1', 'bare-undici'],
    ['gateway-1', LOGGING_OFF],
    ['gateway-10k', 'bare-undici'],
    ['gateway-10k', 'gateway-1'],
    ['gateway-1', 'nginx'],
    ['gateway-10k', 'nginx'],
    ['bare-undici', 'nginx'],
    ...AUTH_CASES.map((c): [CaseName, CaseName] => [c, AUTH_BASELINE]),
    ...LIMIT_CASES.map((c): [CaseName, CaseName] => [c, LIMITS_BASELINE]),
    ...TRACING_CASES.map((c): [CaseName, CaseName] => [c, TRACING_BASELINE]),
    ...CORS_CASES.map((c): [CaseName, CaseName] => [c, CORS_BASELINE]),
    ...TLS_RATIOS,
    ...CACHE_RATIOS,
    ...VALIDATION_CASES.map((c): [CaseName, CaseName] => [c, VALIDATION_BASELINE]),
  ];
  for (const [a, b] of pairs) {
    const x = cases[a];
    const y = cases[b];
    if (x !== undefined && y !== undefined) out[`${a} / ${b}`] = x[metric] / y[metric];
  }
  return out;
}

function targetsOver(cases: BenchReport['cases'], targets: ReadonlyArray<{ case: CaseName; min: number }>, baseline: CaseName): CaseTarget[] {
  const base = cases[baseline];
  return targets.flatMap(({ case: name, min }) => {
    const c = cases[name];
    if (c === undefined) return [];
    const value = base === undefined ? null : c.rps / base.rps;
    const valuePerCpu = base === undefined ? null : c.requestsPerCpuSecond / base.requestsPerCpuSecond;
    return [{ metric: `${name} / ${baseline}`, min, value, valuePerCpu, met: value === null ? null : value >= min }];
  });
}

export function authTargets(cases: BenchReport['cases']): CaseTarget[] {
  return targetsOver(cases, AUTH_TARGETS, AUTH_BASELINE);
}

export function limitTargets(cases: BenchReport['cases']): CaseTarget[] {
  return targetsOver(cases, LIMIT_TARGETS, LIMITS_BASELINE);
}

/**
 * Why the numbers of a run are not valid, if they are not: any request that failed or was not answered as expected
 * (wrk's errors, 1xx/3xx the gateway sent, refusals the authorizers counted), an uncached case that hit its cache, or
 * a rate-limit case not decided the way it claims (see limitReasons).
 */
/**
 * Why the numbers are not what they claim. `wrong`: an answer or a decision the case does not allow (a failed request,
 * a refusal, a limit reached) — the gateway or the bench is broken. `disturbed`: work a deadline cut short (a Redis
 * decision that timed out and fell back, a span export that failed or overflowed) — on a loaded machine that is the
 * machine, and the run measured something else than intended, but nothing is broken.
 */
export function invalidReasons(report: BenchReport): { wrong: string[]; disturbed: string[] } {
  const wrong: string[] = [];
  const disturbed: string[] = [];
  for (const [name, c] of Object.entries(report.cases)) {
    if (c.errors > 0) {
      const what = c.expectedStatus === 429 ? 'answers under 400 where 429 was expected' : 'status ≥ 400';
      wrong.push(`${name}: ${c.errors} failed requests (wrk: connect/read/write errors, timeouts, ${what})`);
    }
    if (c.gateway === undefined) continue;
    if (c.gateway.refused > 0) wrong.push(`${name}: the authorizer refused ${c.gateway.refused} requests`);
    if (c.gateway.otherStatus > 0) wrong.push(`${name}: ${c.gateway.otherStatus} answers were 1xx/3xx`);
    if (name === 'auth-jwt-uncached' && c.gateway.cacheHits > 0) wrong.push(`${name}: ${c.gateway.cacheHits} requests were served from the verified-token cache`);
    if (LIMIT_CASES.includes(name as CaseName)) {
      const r = limitReasons(name as CaseName, c, c.gateway);
      wrong.push(...r.wrong);
      disturbed.push(...r.disturbed);
    }
    if (TRACING_CASES.includes(name as CaseName)) {
      const r = tracingReasons(name as CaseName, c.gateway);
      wrong.push(...r.wrong);
      disturbed.push(...r.disturbed);
    }
  }
  return { wrong, disturbed };
}

/**
 * A tracing case measures what it claims only if every span reached the sink (none failed, none dropped with the
 * export queue full: a dropped span is work not done) and, sampling 0, no span was exported at all.
 */
function tracingReasons(name: CaseName, g: GatewayCounters): { wrong: string[]; disturbed: string[] } {
  const disturbed: string[] = [];
  if (g.spansFailed > 0) disturbed.push(`${name}: ${g.spansFailed} spans failed to export`);
  if (g.spansDropped > 0) disturbed.push(`${name}: ${g.spansDropped} spans dropped (export queue full)`);
  const wrong = name === 'tracing-unsampled' && g.spansExported > 0 ? [`${name}: ${g.spansExported} spans exported with --otlp-sample 0`] : [];
  return { wrong, disturbed };
}

/**
 * A rate-limit case measures what it claims only if: no decision fell back to the local share (Redis answered every
 * one) and Redis reported no error; the admitted cases' limit refused nothing, and the Global one asked Redis for
 * (at least) every request wrk completed; the pre-check case admitted nothing, answered only 429s (no 5xx, a
 * limiter's refusal for every answer) and never asked Redis.
 */
function limitReasons(name: CaseName, c: CaseSummary, g: GatewayCounters): { wrong: string[]; disturbed: string[] } {
  const wrong: string[] = [];
  const disturbed: string[] = [];
  const requests = c.runs.reduce((a, r) => a + r.requests, 0);
  if (g.limitFallback > 0) disturbed.push(`${name}: ${g.limitFallback} decisions by the local fallback (Redis not ready or not answering in time)`);
  if (g.storeErrors > 0) disturbed.push(`${name}: ${g.storeErrors} Redis decisions failed or timed out`);
  if (g.status5xx > 0) wrong.push(`${name}: ${g.status5xx} answers were 5xx`);
  if (c.expectedStatus === 200) {
    if (g.limitLimited > 0) wrong.push(`${name}: the limit refused ${g.limitLimited} requests (it must never be reached)`);
    // Every request asked Redis, or was decided by the fallback when Redis did not answer in time.
    if (GLOBAL_LIMIT_CASES.includes(name) && g.storeCalls + g.limitFallback < requests) wrong.push(`${name}: ${g.storeCalls} Redis decisions and ${g.limitFallback} fallbacks for ${requests} requests`);
  } else {
    if (g.limitAllowed > 0) wrong.push(`${name}: the exhausted limit admitted ${g.limitAllowed} requests`);
    if (g.storeCalls > 0) wrong.push(`${name}: ${g.storeCalls} requests went to Redis instead of the remembered refusal`);
    // wrk saw only answers ≥ 400 (else c.errors), none was a 5xx: a limiter's refusal for each one is every answer a 429.
    // (Not status4xx === limitLimited: a request wrk abandons when it stops counts as a 499.)
    if (g.limitLimited < requests) wrong.push(`${name}: ${g.limitLimited} rate-limit refusals for ${requests} answers`);
  }
  return { wrong, disturbed };
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  const int = (n: number): string => Math.round(n).toLocaleString('en-US');
  lines.push(`${pad('case', 32)}${pad('req/s', 9, true)}${pad('p50 ms', 8, true)}${pad('p99 ms', 8, true)}${pad('errors', 7, true)}${pad('cpu', 6, true)}${pad('req/cpu-s', 11, true)}   per round (req/s)`);
  for (const [, c] of Object.entries(report.cases)) {
    const perRound = c.runs.map((r) => Math.round(r.rps)).join(', ');
    lines.push(
      `${pad(c.expectedStatus === 429 ? `${c.label} (429)` : c.label, 32)}${pad(int(c.rps), 9, true)}${pad(c.p50Ms.toFixed(2), 8, true)}${pad(c.p99Ms.toFixed(2), 8, true)}${pad(String(c.errors), 7, true)}` +
        `${pad(`${Math.round(c.proxyCpuShare * 100)}%`, 6, true)}${pad(int(c.requestsPerCpuSecond), 11, true)}   ${perRound}`,
    );
  }
  const ratioWidth = Math.max(32, ...Object.keys(report.ratios).map((name) => name.length + 2));
  lines.push('', `${pad('ratio', ratioWidth)}${pad('req/s', 7, true)}${pad('req/cpu-s', 11, true)}`);
  for (const [name, value] of Object.entries(report.ratios)) {
    lines.push(`${pad(name, ratioWidth)}${pad(`${value.toFixed(2)}×`, 7, true)}${pad(`${(report.ratiosPerCpu[name] ?? 0).toFixed(2)}×`, 11, true)}`);
  }
  for (const s of report.skipped) lines.push(`skipped ${s.case}: ${s.reason}`);
  const t = report.target;
  if (t.met !== null) lines.push(`\ntarget ${t.metric} ≥ ${t.min}: ${t.value?.toFixed(2)} — ${t.met ? 'met' : 'NOT met'}`);
  const logRatio = `gateway-1 / ${LOGGING_OFF}`;
  const logged = report.ratios[logRatio];
  if (logged !== undefined) {
    const perCpu = report.ratiosPerCpu[logRatio] ?? 0;
    lines.push(`target access log as shipped (${logRatio}) ≥ ${ACCESS_LOG_TARGET}: ${logged.toFixed(2)} (req/cpu-s ${perCpu.toFixed(2)}) — ${logged >= ACCESS_LOG_TARGET ? 'met' : 'NOT met'}`);
  }
  const authCases = AUTH_CASES.flatMap((name) => {
    const c = report.cases[name];
    return c === undefined ? [] : [[name, c] as const];
  });
  if (authCases.length > 0) {
    const base = report.cases[AUTH_BASELINE];
    lines.push('', `authorizers, against auth: none (${CASE_LABELS[AUTH_BASELINE]}${base === undefined ? ': not measured in this run' : ''})`);
    lines.push(`${pad('case', 30)}${pad('req/s', 8, true)}${pad('req/cpu-s', 11, true)}${pad('target', 8, true)}${pad('allowed', 10, true)}${pad('refused', 9, true)}${pad('cache hit', 11, true)}${pad('miss', 9, true)}`);
    for (const [name, c] of authCases) {
      const r = report.ratios[`${name} / ${AUTH_BASELINE}`];
      const rc = report.ratiosPerCpu[`${name} / ${AUTH_BASELINE}`];
      const target = report.authTargets.find((x) => x.metric === `${name} / ${AUTH_BASELINE}`);
      const g = c.gateway ?? NO_COUNTERS;
      const verdict = target === undefined ? '' : `≥ ${target.min}${target.met === null ? '' : target.met ? ' ✓' : ' ✗'}`;
      lines.push(
        `${pad(c.label, 30)}${pad(r === undefined ? '–' : `${r.toFixed(2)}×`, 8, true)}${pad(rc === undefined ? '–' : `${rc.toFixed(2)}×`, 11, true)}${pad(verdict, 8, true)}` +
          `${pad(int(g.allowed), 10, true)}${pad(int(g.refused), 9, true)}${pad(int(g.cacheHits), 11, true)}${pad(int(g.cacheMisses), 9, true)}`,
      );
    }
    if (report.auth !== undefined) lines.push(Object.entries(report.auth).map(([k, v]) => `${k}: ${v}`).join(', '));
  }
  const limitCases = LIMIT_CASES.flatMap((name) => {
    const c = report.cases[name];
    return c === undefined ? [] : [[name, c] as const];
  });
  if (limitCases.length > 0) {
    const base = report.cases[LIMITS_BASELINE];
    const perRequest = (n: number, requests: number): string => (requests > 0 ? n / requests : 0).toFixed(2);
    lines.push('', `rate limits, against limits: none (${CASE_LABELS[LIMITS_BASELINE]}${base === undefined ? ': not measured in this run' : ''})`);
    lines.push(
      `${pad('case', 30)}${pad('expects', 9, true)}${pad('req/s', 8, true)}${pad('req/cpu-s', 11, true)}${pad('target', 11, true)}` +
        `${pad('admitted', 11, true)}${pad('limited', 11, true)}${pad('fallback', 10, true)}${pad('gw→redis/req', 14, true)}${pad('scripts/req', 13, true)}${pad('cmds/req', 10, true)}`,
    );
    for (const [name, c] of limitCases) {
      const r = report.ratios[`${name} / ${LIMITS_BASELINE}`];
      const rc = report.ratiosPerCpu[`${name} / ${LIMITS_BASELINE}`];
      const target = report.limitTargets.find((x) => x.metric === `${name} / ${LIMITS_BASELINE}`);
      const g = c.gateway ?? NO_COUNTERS;
      const requests = c.runs.reduce((a, x) => a + x.requests, 0);
      const verdict = target === undefined ? '' : `≥ ${target.min}${target.met === null ? '' : target.met ? ' ✓' : ' ✗'}`;
      lines.push(
        `${pad(c.label, 30)}${pad(c.expectedStatus === 429 ? '429' : '200', 9, true)}${pad(r === undefined ? '–' : `${r.toFixed(2)}×`, 8, true)}${pad(rc === undefined ? '–' : `${rc.toFixed(2)}×`, 11, true)}${pad(verdict, 11, true)}` +
          `${pad(int(g.limitAllowed), 11, true)}${pad(int(g.limitLimited), 11, true)}${pad(int(g.limitFallback), 10, true)}${pad(perRequest(g.storeCalls, requests), 14, true)}` +
          `${pad(c.redis === undefined ? '–' : c.redis.scriptsPerRequest.toFixed(2), 13, true)}${pad(c.redis === undefined ? '–' : c.redis.commandsPerRequest.toFixed(2), 10, true)}`,
      );
    }
    if (limitCases.some(([, c]) => c.expectedStatus === 429)) {
      lines.push('(expects 429: every measured request is refused by the gateway itself — the 429 is the expected answer, not an error, and is never proxied)');
    }
    for (const t of report.limitTargets) {
      lines.push(`target ${t.metric} ≥ ${t.min}: ${t.value === null ? 'no baseline in this run' : `${t.value.toFixed(2)} (req/cpu-s ${t.valuePerCpu?.toFixed(2)}) — ${t.met === true ? 'met' : 'NOT met'}`}`);
    }
    if (report.limits !== undefined) lines.push(Object.entries(report.limits).map(([k, v]) => `${k}: ${v}`).join(', '));
  }
  const tracingCases = TRACING_CASES.flatMap((name) => {
    const c = report.cases[name];
    return c === undefined ? [] : [[name, c] as const];
  });
  if (tracingCases.length > 0) {
    const base = report.cases[TRACING_BASELINE];
    lines.push('', `span export, against tracing: off (${CASE_LABELS[TRACING_BASELINE]}${base === undefined ? ': not measured in this run' : ''})`);
    lines.push(`${pad('case', 30)}${pad('req/s', 8, true)}${pad('req/cpu-s', 11, true)}${pad('exported/req', 14, true)}${pad('failed', 8, true)}${pad('dropped', 9, true)}`);
    for (const [name, c] of tracingCases) {
      const r = report.ratios[`${name} / ${TRACING_BASELINE}`];
      const rc = report.ratiosPerCpu[`${name} / ${TRACING_BASELINE}`];
      const g = c.gateway ?? NO_COUNTERS;
      const requests = c.runs.reduce((a, x) => a + x.requests, 0);
      lines.push(
        `${pad(c.label, 30)}${pad(r === undefined ? '–' : `${r.toFixed(2)}×`, 8, true)}${pad(rc === undefined ? '–' : `${rc.toFixed(2)}×`, 11, true)}` +
          `${pad((requests > 0 ? g.spansExported / requests : 0).toFixed(2), 14, true)}${pad(int(g.spansFailed), 8, true)}${pad(int(g.spansDropped), 9, true)}`,
      );
    }
    lines.push('(exported/req: spans the collector took during the measurements per request wrk completed; spans of requests still queued when a measurement ends are exported during the next one)');
  }
  return lines.join('\n');
}

/** bench/results/proxy-<UTC timestamp>.json, plus latest.json with the same content. */
export function writeReport(report: BenchReport, dir: string): string {
  return writeResultFiles(dir, 'proxy', 'latest.json', report, new Date(report.date)).file;
}

// Turns wrk runs into the summary: per-case throughput and latency, the ratios the target is
// stated in, a printed table, and the JSON written to bench/results/.
import { AUTH_BASELINE, AUTH_CASES, CASE_LABELS, type CaseName } from './proxy-cases.ts';
import { errorCount, requestsPerSecond, type WrkResult } from './wrk.ts';
import { writeResultFiles } from './results-file.ts';
import { addCounters, NO_COUNTERS, type GatewayCounters } from './gateway-counters.ts';

export const TARGET_RATIO = 0.8;

/** Throughput an Authorizer may cost: each case's req/s over the same gateway without one (reported, not asserted). */
export const AUTH_TARGETS: ReadonlyArray<{ case: CaseName; min: number }> = [
  { case: 'auth-jwt-cached', min: 0.9 },
  { case: 'auth-api-key', min: 0.9 },
  { case: 'auth-jwt-uncached', min: 0.5 },
];

export interface AuthTarget {
  metric: string;
  min: number;
  value: number | null;
  /** The same ratio over requests per CPU-second. */
  valuePerCpu: number | null;
  met: boolean | null;
}

export interface RunSummary {
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
}

export interface CaseSummary extends RunSummary {
  label: string;
  routes?: number;
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
  authTargets: AuthTarget[];
  /** How the authorizer cases were set up (absent when none ran). */
  auth?: Record<string, string | number>;
  skipped: { case: CaseName; reason: string }[];
}

export function summarizeRun(r: WrkResult, proxyCpuSeconds: number, gateway?: GatewayCounters): RunSummary {
  const seconds = r.durationUs / 1e6;
  return {
    ...(gateway === undefined ? {} : { gateway }),
    rps: requestsPerSecond(r),
    p50Ms: r.latencyUs.p50 / 1000,
    p99Ms: r.latencyUs.p99 / 1000,
    errors: errorCount(r),
    proxyCpuShare: proxyCpuSeconds / seconds,
    requestsPerCpuSecond: proxyCpuSeconds > 0 ? r.requests / proxyCpuSeconds : 0,
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Rounds are averaged: each round measures every case once, so drift hits all cases alike. */
export function summarizeCase(name: CaseName, runs: RunSummary[], routes?: number): CaseSummary {
  return {
    label: CASE_LABELS[name],
    ...(routes === undefined ? {} : { routes }),
    rps: mean(runs.map((r) => r.rps)),
    p50Ms: mean(runs.map((r) => r.p50Ms)),
    p99Ms: mean(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    proxyCpuShare: mean(runs.map((r) => r.proxyCpuShare)),
    requestsPerCpuSecond: mean(runs.map((r) => r.requestsPerCpuSecond)),
    ...(runs.some((r) => r.gateway !== undefined) ? { gateway: runs.reduce((a, r) => addCounters(a, r.gateway ?? NO_COUNTERS), NO_COUNTERS) } : {}),
    runs,
  };
}

export function ratios(cases: BenchReport['cases'], metric: 'rps' | 'requestsPerCpuSecond'): Record<string, number> {
  const out: Record<string, number> = {};
  const pairs: [CaseName, CaseName][] = [
    ['gateway-1', 'bare-undici'],
    ['gateway-10k', 'bare-undici'],
    ['gateway-10k', 'gateway-1'],
    ['gateway-1', 'nginx'],
    ['gateway-10k', 'nginx'],
    ['bare-undici', 'nginx'],
    ...AUTH_CASES.map((c): [CaseName, CaseName] => [c, AUTH_BASELINE]),
  ];
  for (const [a, b] of pairs) {
    const x = cases[a];
    const y = cases[b];
    if (x !== undefined && y !== undefined) out[`${a} / ${b}`] = x[metric] / y[metric];
  }
  return out;
}

export function authTargets(cases: BenchReport['cases']): AuthTarget[] {
  const base = cases[AUTH_BASELINE];
  return AUTH_TARGETS.flatMap(({ case: name, min }) => {
    const c = cases[name];
    if (c === undefined) return [];
    const value = base === undefined ? null : c.rps / base.rps;
    const valuePerCpu = base === undefined ? null : c.requestsPerCpuSecond / base.requestsPerCpuSecond;
    return [{ metric: `${name} / ${AUTH_BASELINE}`, min, value, valuePerCpu, met: value === null ? null : value >= min }];
  });
}

/**
 * Why the numbers of a run are not valid, if they are not: any request that failed or was not answered 2xx (wrk's
 * errors, 1xx/3xx the gateway sent, refusals the authorizers counted), or an uncached case that hit its cache.
 */
export function invalidReasons(report: BenchReport): string[] {
  const reasons: string[] = [];
  for (const [name, c] of Object.entries(report.cases)) {
    if (c.errors > 0) reasons.push(`${name}: ${c.errors} failed requests (wrk: connect/read/write errors, timeouts, status ≥ 400)`);
    if (c.gateway === undefined) continue;
    if (c.gateway.refused > 0) reasons.push(`${name}: the authorizer refused ${c.gateway.refused} requests`);
    if (c.gateway.otherStatus > 0) reasons.push(`${name}: ${c.gateway.otherStatus} answers were 1xx/3xx`);
    if (name === 'auth-jwt-uncached' && c.gateway.cacheHits > 0) reasons.push(`${name}: ${c.gateway.cacheHits} requests were served from the verified-token cache`);
  }
  return reasons;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  const int = (n: number): string => Math.round(n).toLocaleString('en-US');
  lines.push(`${pad('case', 30)}${pad('req/s', 9, true)}${pad('p50 ms', 8, true)}${pad('p99 ms', 8, true)}${pad('errors', 7, true)}${pad('cpu', 6, true)}${pad('req/cpu-s', 11, true)}   per round (req/s)`);
  for (const [, c] of Object.entries(report.cases)) {
    const perRound = c.runs.map((r) => Math.round(r.rps)).join(', ');
    lines.push(
      `${pad(c.label, 30)}${pad(int(c.rps), 9, true)}${pad(c.p50Ms.toFixed(2), 8, true)}${pad(c.p99Ms.toFixed(2), 8, true)}${pad(String(c.errors), 7, true)}` +
        `${pad(`${Math.round(c.proxyCpuShare * 100)}%`, 6, true)}${pad(int(c.requestsPerCpuSecond), 11, true)}   ${perRound}`,
    );
  }
  lines.push('', `${pad('ratio', 32)}${pad('req/s', 7, true)}${pad('req/cpu-s', 11, true)}`);
  for (const [name, value] of Object.entries(report.ratios)) {
    lines.push(`${pad(name, 32)}${pad(`${value.toFixed(2)}×`, 7, true)}${pad(`${(report.ratiosPerCpu[name] ?? 0).toFixed(2)}×`, 11, true)}`);
  }
  for (const s of report.skipped) lines.push(`skipped ${s.case}: ${s.reason}`);
  const t = report.target;
  if (t.met !== null) lines.push(`\ntarget ${t.metric} ≥ ${t.min}: ${t.value?.toFixed(2)} — ${t.met ? 'met' : 'NOT met'}`);
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
  return lines.join('\n');
}

/** bench/results/proxy-<UTC timestamp>.json, plus latest.json with the same content. */
export function writeReport(report: BenchReport, dir: string): string {
  return writeResultFiles(dir, 'proxy', 'latest.json', report, new Date(report.date)).file;
}

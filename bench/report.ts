// Turns wrk runs into the summary: per-case throughput and latency, the ratios the target is
// stated in, a printed table, and the JSON written to bench/results/.
import { CASE_LABELS, type CaseName } from './proxy-cases.ts';
import { errorCount, requestsPerSecond, type WrkResult } from './wrk.ts';
import { writeResultFiles } from './results-file.ts';

export const TARGET_RATIO = 0.8;

export interface RunSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Share of one core the proxy got during the run (1 = all of CPU 0). */
  proxyCpuShare: number;
  /** Requests per CPU-second of the proxy: robust when something else competes for its core. */
  requestsPerCpuSecond: number;
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
  skipped: { case: CaseName; reason: string }[];
}

export function summarizeRun(r: WrkResult, proxyCpuSeconds: number): RunSummary {
  const seconds = r.durationUs / 1e6;
  return {
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
  ];
  for (const [a, b] of pairs) {
    const x = cases[a];
    const y = cases[b];
    if (x !== undefined && y !== undefined) out[`${a} / ${b}`] = x[metric] / y[metric];
  }
  return out;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  const int = (n: number): string => Math.round(n).toLocaleString('en-US');
  lines.push(`${pad('case', 24)}${pad('req/s', 9, true)}${pad('p50 ms', 8, true)}${pad('p99 ms', 8, true)}${pad('errors', 7, true)}${pad('cpu', 6, true)}${pad('req/cpu-s', 11, true)}   per round (req/s)`);
  for (const [, c] of Object.entries(report.cases)) {
    const perRound = c.runs.map((r) => Math.round(r.rps)).join(', ');
    lines.push(
      `${pad(c.label, 24)}${pad(int(c.rps), 9, true)}${pad(c.p50Ms.toFixed(2), 8, true)}${pad(c.p99Ms.toFixed(2), 8, true)}${pad(String(c.errors), 7, true)}` +
        `${pad(`${Math.round(c.proxyCpuShare * 100)}%`, 6, true)}${pad(int(c.requestsPerCpuSecond), 11, true)}   ${perRound}`,
    );
  }
  lines.push('', `${pad('ratio', 28)}${pad('req/s', 7, true)}${pad('req/cpu-s', 11, true)}`);
  for (const [name, value] of Object.entries(report.ratios)) {
    lines.push(`${pad(name, 28)}${pad(`${value.toFixed(2)}×`, 7, true)}${pad(`${(report.ratiosPerCpu[name] ?? 0).toFixed(2)}×`, 11, true)}`);
  }
  for (const s of report.skipped) lines.push(`skipped ${s.case}: ${s.reason}`);
  const t = report.target;
  if (t.met !== null) lines.push(`\ntarget ${t.metric} ≥ ${t.min}: ${t.value?.toFixed(2)} — ${t.met ? 'met' : 'NOT met'}`);
  return lines.join('\n');
}

/** bench/results/proxy-<UTC timestamp>.json, plus latest.json with the same content. */
export function writeReport(report: BenchReport, dir: string): string {
  return writeResultFiles(dir, 'proxy', 'latest.json', report, new Date(report.date)).file;
}

// Turns wrk runs into the summary: per-case throughput and latency, the ratios the target is
// stated in, a printed table, and the JSON written to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CASE_LABELS, type CaseName } from './proxy-cases.ts';
import { errorCount, requestsPerSecond, type WrkResult } from './wrk.ts';

export const TARGET_RATIO = 0.8;

export interface RunSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
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
  target: { metric: string; min: number; value: number | null; met: boolean | null };
  skipped: { case: CaseName; reason: string }[];
}

export function summarizeRun(r: WrkResult): RunSummary {
  return { rps: requestsPerSecond(r), p50Ms: r.latencyUs.p50 / 1000, p99Ms: r.latencyUs.p99 / 1000, errors: errorCount(r) };
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
    runs,
  };
}

export function ratios(cases: BenchReport['cases']): Record<string, number> {
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
    if (x !== undefined && y !== undefined) out[`${a} / ${b}`] = x.rps / y.rps;
  }
  return out;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  lines.push(`${pad('case', 26)}${pad('req/s', 10, true)}${pad('p50 ms', 9, true)}${pad('p99 ms', 9, true)}${pad('errors', 8, true)}   per round (req/s)`);
  for (const [, c] of Object.entries(report.cases)) {
    const perRound = c.runs.map((r) => Math.round(r.rps)).join(', ');
    lines.push(`${pad(c.label, 26)}${pad(Math.round(c.rps).toLocaleString('en-US'), 10, true)}${pad(c.p50Ms.toFixed(2), 9, true)}${pad(c.p99Ms.toFixed(2), 9, true)}${pad(String(c.errors), 8, true)}   ${perRound}`);
  }
  lines.push('');
  for (const [name, value] of Object.entries(report.ratios)) lines.push(`${pad(name, 28)}${value.toFixed(2)}×`);
  for (const s of report.skipped) lines.push(`skipped ${s.case}: ${s.reason}`);
  const t = report.target;
  if (t.met !== null) lines.push(`\ntarget ${t.metric} ≥ ${t.min}: ${t.value?.toFixed(2)} — ${t.met ? 'met' : 'NOT met'}`);
  return lines.join('\n');
}

/** bench/results/proxy-<UTC timestamp>.json, plus latest.json with the same content. */
export function writeReport(report: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.date.replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `proxy-${stamp}.json`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(join(dir, 'latest.json'), text);
  return file;
}

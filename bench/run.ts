// `npm run bench`: requests/s and p50/p99 latency through the gateway (1 route, 10,000 routes),
// a bare undici proxy and nginx proxy_pass, in one run, against one shared upstream.
// Proxies run on CPU 0; wrk and the upstream on CPU 1. See bench/README.md for the method.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { killChildrenOnExit, stopAll } from './child-processes.ts';
import { freePort, waitForPort, LOOPBACK } from './ports.ts';
import { startNginx, upstreamConf } from './nginx.ts';
import { ALL_CASES, gatewayAvailable, startCase, type CaseName, type RunningCase } from './proxy-cases.ts';
import { preflight } from './preflight.ts';
import { runWrk } from './wrk.ts';
import { MEASURED_HOST, MEASURED_PATH } from './bench-tables.ts';
import { formatReport, ratios, summarizeCase, summarizeRun, writeReport, TARGET_RATIO, type BenchReport, type RunSummary } from './report.ts';
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
  },
});
const params = {
  durationSec: Number(values.duration),
  warmupSec: Number(values.warmup),
  connections: Number(values.connections),
  threads: 1,
  rounds: Number(values.rounds),
};
const requested = values.cases.split(',').map((c) => c.trim()) as CaseName[];
for (const c of requested) if (!ALL_CASES.includes(c)) throw new Error(`unknown case ${c}; known: ${ALL_CASES.join(', ')}`);

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

async function main(): Promise<BenchReport> {
  // Other work on the machine competes for both cores; say so rather than publish skewed numbers.
  const busyBefore = await machineBusy(1000);
  if (busyBefore > 0.1) console.warn(`bench: the machine is already ${Math.round(busyBefore * 100)}% busy; req/s will be low and noisy (req/cpu-s less so)`);
  const upstreamPort = await freePort();
  const upstreamDir = join(tmpDir, 'nginx-upstream');
  const upstream = startNginx('upstream', upstreamDir, upstreamConf(upstreamDir, upstreamPort), LOAD_CPU);
  await waitForPort(upstreamPort, upstream);

  const running: RunningCase[] = [];
  for (const name of requested) {
    if (name.startsWith('gateway') && !gatewayAvailable()) {
      skipped.push({ case: name, reason: 'proxy/server/start-gateway.ts does not exist yet' });
      continue;
    }
    const c = await startCase(name, { tmpDir, upstreamPort, cpu: PROXY_CPU });
    await preflight(name, c.port, MEASURED_HOST, MEASURED_PATH);
    running.push(c);
    console.log(`started ${name} on ${LOOPBACK}:${c.port}${c.routes === undefined ? '' : ` (${c.routes} routes)`}`);
  }

  const runs = new Map<CaseName, RunSummary[]>(running.map((c) => [c.name, []]));
  for (let round = 0; round < params.rounds; round++) {
    // Rotate the order each round so no case always runs first (or right after the heaviest one).
    const order = running.map((_, i) => running[(i + round) % running.length] as RunningCase);
    for (const c of order) {
      const wrk = { url: `http://${LOOPBACK}:${c.port}${MEASURED_PATH}`, host: MEASURED_HOST, threads: params.threads, connections: params.connections, cpu: LOAD_CPU };
      if (params.warmupSec > 0) await runWrk({ ...wrk, durationSec: params.warmupSec });
      const pid = c.process.child.pid ?? 0;
      const cpuBefore = cpuSeconds(pid);
      const measured = await runWrk({ ...wrk, durationSec: params.durationSec });
      const result = summarizeRun(measured, cpuSeconds(pid) - cpuBefore);
      runs.get(c.name)?.push(result);
      console.log(`round ${round + 1}/${params.rounds} ${c.name.padEnd(12)} ${Math.round(result.rps).toString().padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}  cpu ${Math.round(result.proxyCpuShare * 100)}%  ${Math.round(result.requestsPerCpuSecond)} req/cpu-s`);
    }
  }

  const cases: BenchReport['cases'] = {};
  for (const c of running) cases[c.name] = summarizeCase(c.name, runs.get(c.name) ?? [], c.routes);
  const r = ratios(cases, 'rps');
  const targetValue = r['gateway-10k / bare-undici'] ?? null;
  return {
    date: new Date().toISOString(),
    environment: { ...describeEnvironment(), machineBusyBeforeStart: Math.round(busyBefore * 100) / 100 },
    params: { ...params, proxyCpu: PROXY_CPU ?? 'unpinned', loadCpu: LOAD_CPU ?? 'unpinned', upstream: 'nginx return 200 (1 worker)' },
    request: { host: MEASURED_HOST, path: MEASURED_PATH },
    cases,
    ratios: r,
    ratiosPerCpu: ratios(cases, 'requestsPerCpuSecond'),
    target: { metric: 'gateway-10k / bare-undici', min: TARGET_RATIO, value: targetValue, met: targetValue === null ? null : targetValue >= TARGET_RATIO },
    skipped,
  };
}

let exitCode = 0;
try {
  const report = await main();
  console.log(`\n${formatReport(report)}`);
  if (!values['no-save']) console.log(`\nwrote ${writeReport(report, values.out)} and latest.json`);
  const anyErrors = Object.values(report.cases).some((c) => c.errors > 0);
  if (anyErrors) {
    console.error('bench: some requests failed (see errors column); the numbers are not valid');
    exitCode = 1;
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  exitCode = 1;
} finally {
  await stopAll();
}
process.exitCode = exitCode;

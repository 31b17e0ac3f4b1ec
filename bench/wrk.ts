// Runs wrk against one proxy and returns what its Lua `done` hook reports.
import { join } from 'node:path';
import { startProcess } from './child-processes.ts';
import { once } from 'node:events';

export interface WrkParams {
  url: string;
  host: string;
  threads: number;
  connections: number;
  durationSec: number;
  cpu: number | null;
}

export interface WrkResult {
  requests: number;
  durationUs: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { mean: number; p50: number; p90: number; p99: number; max: number };
}

const REPORT_SCRIPT = join(import.meta.dirname, 'wrk-report.lua');

export async function runWrk(p: WrkParams): Promise<WrkResult> {
  const args = ['-t', String(p.threads), '-c', String(p.connections), '-d', `${p.durationSec}s`, '--timeout', '5s', '-H', `Host: ${p.host}`, '-s', REPORT_SCRIPT, p.url];
  const wrk = startProcess('wrk', 'wrk', args, p.cpu);
  const [code] = (await once(wrk.child, 'exit')) as [number | null];
  const line = wrk.output().split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (exit ${code}):\n${wrk.output()}`);
  return JSON.parse(line.slice('WRK_JSON '.length)) as WrkResult;
}

export function requestsPerSecond(r: WrkResult): number {
  return r.requests / (r.durationUs / 1e6);
}

export function errorCount(r: WrkResult): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}

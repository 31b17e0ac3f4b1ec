// Runs h2load (Debian's nghttp2-client) against one proxy over HTTP/2 and reports it in wrk's shape (wrk.ts WrkResult),
// so the runner, the report and the error checks treat both load generators alike. Latency percentiles come from
// h2load's per-request log (--log-file: start µs, status, duration µs per line).
import { readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { startProcess } from './child-processes.ts';
import { percentile } from './percentiles.ts';
import type { WrkParams, WrkResult } from './wrk.ts';

export interface H2loadParams extends Omit<WrkParams, 'script' | 'threads'> {
  /** Streams in flight per connection (-m). 1: the same 50 requests in flight over 50 connections as wrk. */
  streamsPerConnection: number;
  /** Where h2load writes its per-request log (removed after reading). */
  logFile: string;
}

export async function runH2load(p: H2loadParams): Promise<WrkResult> {
  const headers = [`:authority: ${p.host}`, ...(p.headers ?? [])].flatMap((h) => ['-H', h]);
  const args = ['-t', '1', '-c', String(p.connections), '-m', String(p.streamsPerConnection), '-D', String(p.durationSec)];
  args.push('--log-file', p.logFile, ...headers, p.url);
  const h2load = startProcess('h2load', 'h2load', args, p.cpu);
  const [code] = (await once(h2load.child, 'exit')) as [number | null];
  const out = h2load.output();
  try {
    if (code !== 0) throw new Error(`h2load failed (exit ${code}):\n${out}`);
    // Not HTTP/2 would measure something else (h2load falls back to HTTP/1.1 when the server does not offer h2).
    if (!/^Application protocol: h2$/m.test(out)) throw new Error(`h2load did not speak HTTP/2:\n${out}`);
    return parseH2load(out, readFileSync(p.logFile, 'utf8'), p.durationSec);
  } finally {
    rmSync(p.logFile, { force: true });
  }
}

/** h2load's summary and per-request log as a WrkResult; requests that failed, errored or timed out count as errors. */
export function parseH2load(out: string, log: string, durationSec: number): WrkResult {
  const counts = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const traffic = /traffic: [^(]*\((\d+)\) total/.exec(out);
  if (counts === null || status === null) throw new Error(`unexpected h2load output:\n${out}`);
  const [, , done, , , errored, timeout] = counts.map(Number) as number[];
  const [, , , s4xx, s5xx] = status.map(Number) as number[];
  const durations: number[] = [];
  for (const line of log.split('\n')) {
    const us = Number(line.split('\t')[2]);
    if (line !== '' && Number.isFinite(us)) durations.push(us);
  }
  durations.sort((a, b) => a - b);
  const mean = durations.length === 0 ? 0 : durations.reduce((a, b) => a + b, 0) / durations.length;
  return {
    requests: done ?? 0,
    durationUs: durationSec * 1e6,
    bytes: traffic === null ? 0 : Number(traffic[1]),
    // Answers ≥ 400 count under status, as wrk counts them; streams that errored or timed out are transport errors.
    errors: { connect: 0, read: errored ?? 0, write: 0, status: (s4xx ?? 0) + (s5xx ?? 0), timeout: timeout ?? 0 },
    latencyUs: { mean, p50: percentile(durations, 50), p90: percentile(durations, 90), p99: percentile(durations, 99), max: durations.at(-1) ?? 0 },
  };
}

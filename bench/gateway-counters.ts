// What the gateway itself counted during a measurement, read from its Prometheus metrics (admin port) before and
// after it: authorizer decisions and cache lookups, and answers wrk does not count as errors. A cross-check of
// wrk's error count (a refused request is an error either way) and the proof that a "cache hit" case hit its
// cache and the uncached case never did.
import { request } from 'undici';
import { LOOPBACK } from './ports.ts';

export interface GatewayCounters {
  /** Authorizer decisions that let the request through. */
  allowed: number;
  /** Authorizer decisions that refused it (deny) or could not decide (error): each is a 401/403/5xx. */
  refused: number;
  /** Lookups in the verified-token (JWT) and decision (external) caches. */
  cacheHits: number;
  cacheMisses: number;
  /** 1xx and 3xx answers: not 2xx, but not among wrk's errors (it counts status ≥ 400). */
  otherStatus: number;
}

export const NO_COUNTERS: GatewayCounters = { allowed: 0, refused: 0, cacheHits: 0, cacheMisses: 0, otherStatus: 0 };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of the Prometheus text format (prom-client's output: no escaped quotes in our label values). */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[k as string] = v as string;
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

export async function readCounters(adminPort: number): Promise<GatewayCounters> {
  const res = await request(`http://${LOOPBACK}:${adminPort}/metrics`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`gateway metrics on ${adminPort}: status ${res.statusCode}`);
  const c = { ...NO_COUNTERS };
  for (const s of parseSamples(text)) {
    if (s.name === 'gatehouse_authorizer_decisions_total') {
      if (s.labels.result === 'allow') c.allowed += s.value;
      else c.refused += s.value;
    } else if (s.name === 'gatehouse_authorizer_cache_lookups_total') {
      if (s.labels.result === 'hit') c.cacheHits += s.value;
      else c.cacheMisses += s.value;
    } else if (s.name === 'gatehouse_requests_total' && (s.labels.status_class === '1xx' || s.labels.status_class === '3xx')) {
      c.otherStatus += s.value;
    }
  }
  return c;
}

export function countersBetween(before: GatewayCounters, after: GatewayCounters): GatewayCounters {
  return {
    allowed: after.allowed - before.allowed,
    refused: after.refused - before.refused,
    cacheHits: after.cacheHits - before.cacheHits,
    cacheMisses: after.cacheMisses - before.cacheMisses,
    otherStatus: after.otherStatus - before.otherStatus,
  };
}

export function addCounters(a: GatewayCounters, b: GatewayCounters): GatewayCounters {
  return {
    allowed: a.allowed + b.allowed,
    refused: a.refused + b.refused,
    cacheHits: a.cacheHits + b.cacheHits,
    cacheMisses: a.cacheMisses + b.cacheMisses,
    otherStatus: a.otherStatus + b.otherStatus,
  };
}

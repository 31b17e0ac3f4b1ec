// What the gateway itself counted during a measurement, read from its Prometheus metrics (admin port) before and
// after it: authorizer decisions and cache lookups, rate-limit decisions and Redis round trips, and answers by
// status class. A cross-check of wrk's error count (a refused request is an error either way), the proof that a
// "cache hit" case hit its cache and the uncached case never did, and that a rate-limit case was decided the way it
// claims (admitted by Redis, refused by the remembered refusal without Redis), and that a tracing case exported its
// spans (none failed or dropped).
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
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
  /** 4xx and 5xx answers (wrk counts both as status errors; a rate-limit case expecting 429 tells them apart here). */
  status4xx: number;
  status5xx: number;
  /** Rate-limit decisions (summed over limits): the request passed, this limit refused it, the local fallback decided. */
  limitAllowed: number;
  limitLimited: number;
  limitFallback: number;
  /** Redis decisions the gateway made (one script round trip each), and those Redis could not answer. */
  storeCalls: number;
  storeErrors: number;
  /** Request spans the OTLP exporter sent, failed to send, or dropped with its queue full (tracing cases). */
  spansExported: number;
  spansFailed: number;
  spansDropped: number;
}

export const NO_COUNTERS: GatewayCounters = {
  allowed: 0,
  refused: 0,
  cacheHits: 0,
  cacheMisses: 0,
  otherStatus: 0,
  status4xx: 0,
  status5xx: 0,
  limitAllowed: 0,
  limitLimited: 0,
  limitFallback: 0,
  storeCalls: 0,
  storeErrors: 0,
  spansExported: 0,
  spansFailed: 0,
  spansDropped: 0,
};

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

async function readSamples(adminPort: number): Promise<Sample[]> {
  const res = await request(`http://${LOOPBACK}:${adminPort}/metrics`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`gateway metrics on ${adminPort}: status ${res.statusCode}`);
  return parseSamples(text);
}

export async function readCounters(adminPort: number): Promise<GatewayCounters> {
  const c = { ...NO_COUNTERS };
  for (const s of await readSamples(adminPort)) {
    if (s.name === 'gatehouse_authorizer_decisions_total') {
      if (s.labels.result === 'allow') c.allowed += s.value;
      else c.refused += s.value;
    } else if (s.name === 'gatehouse_authorizer_cache_lookups_total') {
      if (s.labels.result === 'hit') c.cacheHits += s.value;
      else c.cacheMisses += s.value;
    } else if (s.name === 'gatehouse_requests_total') {
      if (s.labels.status_class === '1xx' || s.labels.status_class === '3xx') c.otherStatus += s.value;
      else if (s.labels.status_class === '4xx') c.status4xx += s.value;
      else if (s.labels.status_class === '5xx') c.status5xx += s.value;
    } else if (s.name === 'gatehouse_rate_limit_decisions_total') {
      if (s.labels.result === 'allowed') c.limitAllowed += s.value;
      else if (s.labels.result === 'limited') c.limitLimited += s.value;
      else c.limitFallback += s.value;
    } else if (s.name === 'gatehouse_rate_limit_store_seconds_count') {
      c.storeCalls += s.value;
    } else if (s.name === 'gatehouse_rate_limit_store_errors_total') {
      c.storeErrors += s.value;
    } else if (s.name === 'gatehouse_otlp_spans_total') {
      if (s.labels.result === 'exported') c.spansExported += s.value;
      else if (s.labels.result === 'failed') c.spansFailed += s.value;
      else c.spansDropped += s.value;
    }
  }
  return c;
}

/** Resolves once the gateway reports its Redis connection up (gatehouse_redis_up 1); a request before would be decided by the fallback. */
export async function waitForRedisUp(adminPort: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no gatehouse_redis_up sample';
  while (Date.now() < deadline) {
    // The admin port opens just after the traffic port the bench waited for: refused until then.
    const samples = await readSamples(adminPort).catch((err: unknown) => {
      last = `admin port: ${err instanceof Error ? err.message : String(err)}`;
      return [];
    });
    const up = samples.find((s) => s.name === 'gatehouse_redis_up');
    if (up?.value === 1) return;
    if (up !== undefined) last = `gatehouse_redis_up ${up.value}`;
    await sleep(50);
  }
  throw new Error(`the gateway on admin port ${adminPort} did not connect to Redis within ${timeoutMs} ms (${last})`);
}

const FIELDS = Object.keys(NO_COUNTERS) as (keyof GatewayCounters)[];

function combine(a: GatewayCounters, b: GatewayCounters, sign: 1 | -1): GatewayCounters {
  const out = { ...NO_COUNTERS };
  for (const f of FIELDS) out[f] = a[f] + sign * b[f];
  return out;
}

export function countersBetween(before: GatewayCounters, after: GatewayCounters): GatewayCounters {
  return combine(after, before, -1);
}

export function addCounters(a: GatewayCounters, b: GatewayCounters): GatewayCounters {
  return combine(a, b, 1);
}

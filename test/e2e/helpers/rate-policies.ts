// RatePolicy table entries for the rate-limit tests (proxy unit tests and end to end), valid per
// proxy/table/table-schema.ts, and a reader for the RateLimit header fields.
import type { TableLimit, TableLimitKeyPart, TableQuota, TableRatePolicy, TableTokenBucket } from '../../../proxy/table/table-schema.ts';

export const HOUR_MS = 3_600_000;

export function bucket(rate: number, periodMs: number, burst: number): TableTokenBucket {
  return { kind: 'tokenBucket', rate, periodMs, burst };
}

export function quota(limit: number, period: TableQuota['period'], timeZone = 'UTC'): TableQuota {
  return { kind: 'quota', limit, period, timeZone };
}

/** A Local limit (Open) unless `extra` says otherwise. */
export function limit(name: string, key: TableLimitKeyPart[], rule: TableTokenBucket | TableQuota, extra: Partial<Pick<TableLimit, 'scope' | 'failureMode'>> = {}): TableLimit {
  return { name, key, scope: 'local', failureMode: 'open', rule, ...extra };
}

export const byClientIp: TableLimitKeyPart[] = [{ type: 'clientIp' }];
export const byConsumer: TableLimitKeyPart[] = [{ type: 'consumer' }];

/** A RatePolicy "<id>" with `limits` for every caller, no plans, RateLimit fields on every response unless `extra` says otherwise. */
export function ratePolicy(id: string, limits: TableLimit[], extra: Partial<Omit<TableRatePolicy, 'id' | 'limits'>> = {}): TableRatePolicy {
  return { id, limits, plans: [], headers: 'always', ...extra };
}

/** The items of a RateLimit or RateLimit-Policy field by name: `"p/l";r=2;t=3` → { 'p/l': { r: 2, t: 3 } }. */
export function rateLimitItems(field: string | string[] | undefined): Record<string, Record<string, number>> {
  if (field === undefined) throw new Error('no RateLimit field');
  const out: Record<string, Record<string, number>> = {};
  for (const item of (Array.isArray(field) ? field.join(', ') : field).split(', ')) {
    const [name, ...params] = item.split(';');
    if (name === undefined || !name.startsWith('"') || !name.endsWith('"')) throw new Error(`malformed RateLimit item ${JSON.stringify(item)}`);
    const values: Record<string, number> = {};
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k === undefined || v === undefined || !/^\d+$/.test(v)) throw new Error(`malformed RateLimit parameter ${JSON.stringify(p)}`);
      values[k] = Number(v);
    }
    out[name.slice(1, -1)] = values;
  }
  return out;
}

// A limit's key for one request: its parts' values joined. A part the request lacks (no such header, an anonymous
// caller, a claim the token does not carry) takes the one shared "unknown" value, so those callers share a counter
// instead of escaping the limit.
import type { TableLimitKeyPart } from '../../table/table-schema.ts';
import type { PolicyContext } from '../policy-types.ts';

/** Present values start with "=", so no value can equal UNKNOWN. */
const UNKNOWN = '?';
const SEPARATOR = '|';

export function limitKey(parts: readonly TableLimitKeyPart[], ctx: PolicyContext, rule: string): string {
  if (parts.length === 1) return partValue(parts[0] as TableLimitKeyPart, ctx, rule);
  let key = '';
  for (let i = 0; i < parts.length; i++) key += (i === 0 ? '' : SEPARATOR) + partValue(parts[i] as TableLimitKeyPart, ctx, rule);
  return key;
}

function partValue(part: TableLimitKeyPart, ctx: PolicyContext, rule: string): string {
  switch (part.type) {
    case 'clientIp':
      return present(ctx.clientIp);
    case 'route':
      return present(rule);
    case 'consumer': {
      const c = ctx.consumer;
      return c === null ? UNKNOWN : present(`${c.authorizer}/${c.name}`);
    }
    case 'header': {
      const v = ctx.req.headers[part.name];
      if (v === undefined) return UNKNOWN;
      return present(typeof v === 'string' ? v : v.join(','));
    }
    case 'claim': {
      const v = ctx.consumer?.claims[part.name];
      if (typeof v === 'string') return present(v);
      if (typeof v === 'number' || typeof v === 'boolean') return present(String(v));
      return UNKNOWN;
    }
  }
}

function present(value: string): string {
  // The separator inside a value would let two tuples share a key.
  return value.includes(SEPARATOR) || value.includes('%') ? `=${encodeURIComponent(value)}` : `=${value}`;
}

// JSON with object keys sorted at every level, so equal values always serialise to equal bytes
// (the table hash and the golden files depend on it). Array order is kept: it carries meaning.

/** Serialise `value` with sorted keys; `indent` as in JSON.stringify. Undefined properties are dropped. */
export function stableJson(value: unknown, indent?: number): string {
  if (indent === undefined) return compact(value) ?? 'null';
  return JSON.stringify(sortKeys(value), null, indent);
}

/** The compact form, written directly: the table hash runs it over every route on every compile. */
function compact(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => compact(v) ?? 'null').join(',')}]`;
  if (value instanceof Map) return compact(Object.fromEntries(value));
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const v = compact(record[key]);
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value instanceof Map) return sortKeys(Object.fromEntries(value));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

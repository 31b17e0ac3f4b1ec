// Header and query matchers, compiled once per route so a request only compares strings and runs
// precompiled regexes.
import type { IncomingHttpHeaders } from 'node:http';
import type { TableValueMatch } from '../table/table-schema.ts';
import { compileAnchoredRegex } from './anchored-regex.ts';
import { findQueryValue } from './query-lookup.ts';

export interface ValueMatcher {
  readonly name: string;
  readonly kind: 'exact' | 'regex' | 'present';
  /** The expected value (exact) — "" otherwise. */
  readonly value: string;
  /** The anchored pattern (regex) — null otherwise. */
  readonly re: RegExp | null;
}

/** `what` is "header" or "query"; header names are lower-cased because Node lower-cases incoming ones. */
export function compileValueMatchers(list: readonly TableValueMatch[], what: 'header' | 'query', routeId: string): ValueMatcher[] {
  return list.map((m) => {
    const name = what === 'header' ? m.name.toLowerCase() : m.name;
    if (m.type === 'present') return { name, kind: 'present', value: '', re: null };
    if (m.value === undefined) throw new Error(`route ${routeId}: ${what} matcher "${m.name}" of type ${m.type} has no value`);
    if (m.type === 'exact') return { name, kind: 'exact', value: m.value, re: null };
    return { name, kind: 'regex', value: '', re: compileAnchoredRegex(m.value, `${what} matcher "${m.name}"`, routeId) };
  });
}

export function headersMatch(matchers: readonly ValueMatcher[], headers: IncomingHttpHeaders): boolean {
  for (let i = 0; i < matchers.length; i++) {
    const m = matchers[i]!;
    const raw = headers[m.name];
    if (raw === undefined) return false;
    // Node joins repeated headers itself except a few (set-cookie): join those the same way.
    if (!valueMatches(m, typeof raw === 'string' ? raw : raw.join(', '))) return false;
  }
  return true;
}

export function queryMatches(matchers: readonly ValueMatcher[], rawQuery: string): boolean {
  for (let i = 0; i < matchers.length; i++) {
    const m = matchers[i]!;
    const value = findQueryValue(rawQuery, m.name);
    if (value === undefined || !valueMatches(m, value)) return false;
  }
  return true;
}

function valueMatches(m: ValueMatcher, value: string): boolean {
  if (m.kind === 'exact') return value === m.value;
  if (m.kind === 'regex') return m.re!.test(value);
  return true;
}

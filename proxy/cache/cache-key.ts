// The key of a cached answer: "<rule id> <METHOD> <host><path>[?<query>]", then " @<epoch>" when the ApiRoute sets a
// cacheEpoch (a new one is a new key space: the fleet-wide purge), then " #<hash>" of the rule's varyHeaders values
// and, on a rule with an authorizer, of the consumer. The readable front is what a purge by route or by key
// prefix matches; header values and identities only ever appear hashed (keys are Redis keys too).
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Consumer } from '../policy/policy-types.ts';
import type { TableCache } from '../table/table-schema.ts';

/** A header the request lacks is not the same as one it sends empty. */
const ABSENT = '\u0001';

export function cacheKey(cache: TableCache, method: string, host: string, path: string, query: string, headers: IncomingHttpHeaders, consumer: Consumer | null): string {
  const q = cache.queryParams === undefined ? query : selectedQuery(query, cache.queryParams);
  const target = q === '' ? `${cache.id} ${method} ${host}${path}` : `${cache.id} ${method} ${host}${path}?${q}`;
  const base = cache.epoch === undefined ? target : `${target} @${cache.epoch}`;
  if (cache.varyHeaders.length === 0 && consumer === null) return base;
  const hash = createHash('sha256');
  for (const name of cache.varyHeaders) hash.update(`${name}\0${headerText(headers[name])}\0`);
  if (consumer !== null) hash.update(`consumer\0${consumer.authorizer}\0${consumer.name}`);
  return `${base} #${hash.digest('base64url').slice(0, 22)}`;
}

/** The variant of an answer that came with Vary: a hash of the request's values of those (lower-case, sorted) headers. */
export function variantOf(names: readonly string[], headers: IncomingHttpHeaders): string {
  const hash = createHash('sha256');
  for (const name of names) hash.update(`${name}\0${headerText(headers[name])}\0`);
  return hash.digest('base64url').slice(0, 22);
}

/** The key a variant is stored under, below its primary key's Vary marker. */
export function variantKey(primary: string, variant: string): string {
  return `${primary} ~${variant}`;
}

/** The Vary header's names, lower-case, sorted, without duplicates; [] for none. "*" is refused before this. */
export function varyNames(vary: string | string[] | undefined): string[] {
  if (vary === undefined) return [];
  const text = typeof vary === 'string' ? vary : vary.join(',');
  const names = new Set<string>();
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '') names.add(name);
  }
  return [...names].sort();
}

function headerText(value: string | string[] | undefined): string {
  if (value === undefined) return ABSENT;
  return typeof value === 'string' ? value : value.join(', ');
}

/** The listed parameters only, ordered by name (repeats keep their order), as sent: `b=2&a=1` → `a=1&b=2`. */
function selectedQuery(query: string, names: readonly string[]): string {
  if (query === '') return '';
  const kept: Array<[string, string]> = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeName(eq < 0 ? part : part.slice(0, eq));
    if (names.includes(name)) kept.push([name, part]);
  }
  if (kept.length === 0) return '';
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return kept.map((k) => k[1]).join('&');
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
}

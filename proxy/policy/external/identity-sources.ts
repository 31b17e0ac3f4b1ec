// The caller's identity as the external authorizer sees it: one value per configured source, each under a label
// that says where it came from ("header:authorization", "query:api_key", "cookie:session").
import type { IncomingHttpHeaders } from 'node:http';
import type { TableCredentialSource } from '../../table/table-schema.ts';
import { readCredential } from '../credential-source.ts';

export function sourceLabel(source: TableCredentialSource): string {
  return `${source.from}:${source.name}`;
}

/** The values in the sources' order, or null when any is absent: every source is required (as in AWS). */
export function readIdentity(sources: readonly TableCredentialSource[], headers: IncomingHttpHeaders, query: string): string[] | null {
  const values: string[] = [];
  for (const source of sources) {
    const value = readCredential(source, headers, query);
    if (value === null) return null;
    values.push(value);
  }
  return values;
}

/** A 401 should name a scheme the caller can answer; only a Bearer Authorization header has one that fits. */
export function challengeOf(sources: readonly TableCredentialSource[]): Record<string, string> | undefined {
  const bearer = sources.some((s) => s.from === 'header' && s.name === 'authorization' && s.prefix.trim().toLowerCase() === 'bearer');
  return bearer ? { 'www-authenticate': 'Bearer realm="gatehouse"' } : undefined;
}

// Reads a credential (a token, an API key, an identity source) from where the table says it is: a header with an
// optional prefix ("Bearer "), a query parameter or a cookie. Returns null when absent or empty.
import type { IncomingHttpHeaders } from 'node:http';
import type { TableCredentialSource } from '../table/table-schema.ts';

export function readCredential(source: TableCredentialSource, headers: IncomingHttpHeaders, query: string): string | null {
  switch (source.from) {
    case 'header':
      return fromHeader(headers[source.name], source.prefix);
    case 'query':
      return fromQuery(query, source.name);
    case 'cookie':
      return fromCookie(headers.cookie, source.name);
  }
}

function fromHeader(value: string | string[] | undefined, prefix: string): string | null {
  // Two copies of a credential header are ambiguous (which one did the caller mean?): treated as none.
  if (typeof value !== 'string') return null;
  if (prefix === '') return value.trim() || null;
  if (value.length <= prefix.length) return null;
  // The auth scheme is case-insensitive (RFC 9110 §11.1); the exact spelling, by far the most common, costs no copy.
  if (!value.startsWith(prefix) && value.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return null;
  return value.slice(prefix.length).trim() || null;
}

function fromQuery(query: string, name: string): string | null {
  if (query === '') return null;
  const values = new URLSearchParams(query).getAll(name);
  return values.length === 1 && values[0] !== '' ? (values[0] as string) : null;
}

function fromCookie(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  let found: string | null = null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    if (found !== null) return null; // the same cookie twice: ambiguous
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    found = value;
  }
  return found === '' ? null : found;
}

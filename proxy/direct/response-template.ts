// A direct response's body or header value with request substitutions: parsed once when a table is applied into
// literal parts and lookups, so a request only reads values, escapes them and joins strings.
//
//   ${request.path}          the client's path, without the query (as received: percent-encoding kept)
//   ${request.header.NAME}   a request header (case-insensitive name; several values joined with ", ")
//   ${request.query.NAME}    a query parameter, decoded (the first one of that name)
//   ${consumer}              the consumer the route's authorizer authenticated ("" when none)
//   $${                      a literal "${"
//
// A variable the request lacks becomes "". Unknown variables are refused at parse time (the compiler and the table
// schema both parse), never left in a response.
import type { IncomingHttpHeaders } from 'node:http';
import { findQueryValue } from '../router/query-lookup.ts';

/** How a substituted value is made safe where it lands. The literal parts are the author's and are never escaped. */
export type TemplateEscape = 'json' | 'html' | 'none' | 'header';

type Part =
  | { kind: 'literal'; text: string }
  | { kind: 'path' }
  | { kind: 'header'; name: string }
  | { kind: 'query'; name: string }
  | { kind: 'consumer' };

/** What a template reads of one request. */
export interface TemplateRequest {
  readonly path: string;
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly consumer: string | null;
}

export interface ResponseTemplate {
  /** Without placeholders, the fixed text (render returns it unchanged); null otherwise. */
  readonly fixed: string | null;
  render(req: TemplateRequest): string;
}

export type TemplateParse = { ok: true; template: ResponseTemplate } | { ok: false; error: string };

const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const QUERY_NAME_RE = /^[^\s{}$]+$/;

export function parseTemplate(text: string, escape: TemplateEscape): TemplateParse {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('$', i);
    if (at === -1) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, at);
    if (text.startsWith('$${', at)) {
      literal += '${';
      i = at + 3;
      continue;
    }
    if (!text.startsWith('${', at)) {
      literal += '$';
      i = at + 1;
      continue;
    }
    const close = text.indexOf('}', at + 2);
    if (close === -1) return { ok: false, error: `unclosed "\${" at offset ${at}` };
    const part = variable(text.slice(at + 2, close));
    if (part === null) {
      return { ok: false, error: `unknown variable "${text.slice(at, close + 1)}" (known: \${request.path}, \${request.header.NAME}, \${request.query.NAME}, \${consumer}; $\${ writes a literal "\${")` };
    }
    if (literal !== '') parts.push({ kind: 'literal', text: literal });
    literal = '';
    parts.push(part);
    i = close + 1;
  }
  if (literal !== '') parts.push({ kind: 'literal', text: literal });
  return { ok: true, template: build(parts, escape) };
}

function variable(name: string): Part | null {
  if (name === 'request.path') return { kind: 'path' };
  if (name === 'consumer') return { kind: 'consumer' };
  if (name.startsWith('request.header.')) {
    const header = name.slice('request.header.'.length);
    return HEADER_NAME_RE.test(header) ? { kind: 'header', name: header.toLowerCase() } : null;
  }
  if (name.startsWith('request.query.')) {
    const query = name.slice('request.query.'.length);
    return QUERY_NAME_RE.test(query) ? { kind: 'query', name: query } : null;
  }
  return null;
}

function build(parts: Part[], escape: TemplateEscape): ResponseTemplate {
  if (parts.every((p) => p.kind === 'literal')) {
    const fixed = parts.map((p) => (p as { text: string }).text).join('');
    return { fixed, render: () => fixed };
  }
  const escapeValue = ESCAPES[escape];
  return {
    fixed: null,
    render(req) {
      let out = '';
      for (const part of parts) out += part.kind === 'literal' ? part.text : escapeValue(valueOf(part, req));
      return out;
    },
  };
}

function valueOf(part: Exclude<Part, { kind: 'literal' }>, req: TemplateRequest): string {
  switch (part.kind) {
    case 'path':
      return req.path;
    case 'consumer':
      return req.consumer ?? '';
    case 'header': {
      const value = req.headers[part.name];
      return value === undefined ? '' : Array.isArray(value) ? value.join(', ') : value;
    }
    case 'query':
      return req.query === '' ? '' : (findQueryValue(req.query, part.name) ?? '');
  }
}

const ESCAPES: Record<TemplateEscape, (value: string) => string> = {
  // Inside a JSON string literal: the template author writes the quotes, the value cannot close them.
  json: (value) => JSON.stringify(value).slice(1, -1).replace(/</g, '\\u003c').replace(/>/g, '\\u003e'),
  html: escapeHtml,
  none: (value) => value,
  header: headerSafe,
};

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(value: string): string {
  return /[&<>"']/.test(value) ? value.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] as string) : value;
}

/**
 * A header value carries only visible ASCII, space and tab; anything else (CR and LF above all: a decoded query value
 * may hold them) is percent-encoded as UTF-8, so a substitution can neither split the header nor make Node refuse it.
 */
function headerSafe(value: string): string {
  if (!/[^\t\x20-\x7e]/.test(value)) return value;
  return value.replace(/[^\t\x20-\x7e]+/g, percentEncode);
}

/** Byte by byte through UTF-8 (a lone surrogate becomes U+FFFD's bytes rather than throwing, as encodeURIComponent would). */
function percentEncode(run: string): string {
  let out = '';
  for (const byte of Buffer.from(run, 'utf8')) out += `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
  return out;
}

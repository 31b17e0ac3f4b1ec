// A route's request validation (AWS API Gateway's request validators), run after client IP rules, authorization and
// rate limits, as AWS runs its authorizer before validating: an unauthenticated caller learns nothing about the API's
// schema, and a throttled one costs no body parsing. In order, first failure answers:
//   required headers and query parameters (400) → no body where one is required (400) → Content-Type not JSON or a
//   Content-Encoding (415) → more than maxBodySize (413, also refused earlier by Content-Length) → not UTF-8 JSON (400)
//   → does not match the schema (400).
// The body is read whole (bounded by maxBodySize, with the client body timeout between reads) to validate it; the
// upstream gets the very bytes the client sent.
import type { GatewayRequest } from '../server/gateway-request.ts';
import type { TableRequestValidation } from '../table/table-schema.ts';
import { hasRequestBody } from '../forward/body-limit.ts';
import { findQueryValue } from '../router/query-lookup.ts';
import { readBody } from './body-buffer.ts';
import type { BodySchemaSet, CompiledBodySchema } from './body-schema-set.ts';
import { bodyIssues } from './json-schema-compiler.ts';

/** One entry of a 400 answer's `errors`: where (`in`, and `path` into the body or the parameter's `name`) and what. */
export type ValidationIssue = { in: 'body'; path: string; message: string } | { in: 'header' | 'query'; name: string; message: string };

export interface ValidationRefusal {
  /** 499: the client went away while its body was read (nothing is answered). */
  status: 400 | 408 | 413 | 415 | 499;
  error: string;
  errors?: ValidationIssue[];
  /** The body was not read to its end: the answer closes the connection. */
  close?: boolean;
}

export interface RouteValidation {
  requiredHeaders: readonly string[];
  requiredQuery: readonly string[];
  body: CompiledBodySchema | null;
}

/** null for a route without requestValidation (it pays nothing). */
export function buildRouteValidation(table: TableRequestValidation | undefined, schemas: BodySchemaSet): RouteValidation | null {
  if (table === undefined) return null;
  return { requiredHeaders: table.requiredHeaders, requiredQuery: table.requiredQuery, body: table.bodySchema === undefined ? null : schemas.of(table.bodySchema) };
}

const JSON_TYPE = /^application\/(?:[a-z0-9!#$&^_.+-]+\+)?json\s*(?:;|$)/i;
const MAX_MESSAGE = 200;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Whether the Content-Type is application/json or a +json type (application/problem+json, …), parameters aside. */
export function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && JSON_TYPE.test(value.trimStart());
}

/**
 * Checks the request; `done(null, body)` when it passes, with the body read (null when the route has no body schema:
 * it is then streamed upstream as usual).
 */
export function validateRequest(
  v: RouteValidation,
  req: GatewayRequest,
  query: string,
  maxBodyBytes: number,
  bodyIdleMs: number,
  /** The client sent Expect: 100-continue: called just before its body is read (never for a request refused first). */
  sendContinue: (() => void) | null,
  done: (refusal: ValidationRefusal | null, body: Buffer | null) => void,
): void {
  const missing = missingParameters(v, req, query);
  if (missing !== null) return done({ status: 400, error: 'missing required request parameters', errors: missing }, null);
  const schema = v.body;
  if (schema === null) return done(null, null);
  if (!hasRequestBody(req)) {
    if (schema.acceptsNoBody) return done(null, null);
    return done({ status: 400, error: 'request body required', errors: [{ in: 'body', path: '', message: 'is required' }] }, null);
  }
  // Not reading a body we refuse: the answer closes the connection instead.
  if (!isJsonContentType(req.headers['content-type'])) return done({ status: 415, error: 'request body must be JSON (Content-Type application/json or */*+json)', close: true }, null);
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return done({ status: 415, error: 'a validated request body must not be content-encoded', close: true }, null);
  if (sendContinue !== null) sendContinue();
  readBody(req, maxBodyBytes, bodyIdleMs, (read) => {
    switch (read.kind) {
      case 'too-large':
        return done({ status: 413, error: 'request body too large', close: true }, null);
      case 'timeout':
        return done({ status: 408, error: 'request body not received in time', close: true }, null);
      case 'aborted':
        return done({ status: 499, error: 'client closed the request' }, null);
      case 'body':
        return done(checkBody(schema, read.body), read.body);
    }
  });
}

function missingParameters(v: RouteValidation, req: GatewayRequest, query: string): ValidationIssue[] | null {
  let out: ValidationIssue[] | null = null;
  for (const name of v.requiredHeaders) {
    const value = req.headers[name];
    if (value === undefined || value === '') (out ??= []).push({ in: 'header', name, message: 'is required' });
  }
  for (const name of v.requiredQuery) {
    const value = query === '' ? undefined : findQueryValue(query, name);
    if (value === undefined || value === '') (out ??= []).push({ in: 'query', name, message: 'is required' });
  }
  return out;
}

function checkBody(schema: CompiledBodySchema, body: Buffer): ValidationRefusal | null {
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(body));
  } catch (err) {
    return { status: 400, error: 'request body is not valid JSON', errors: [{ in: 'body', path: '', message: cut((err as Error).message) }] };
  }
  const validate = schema.validate;
  let valid: boolean;
  try {
    valid = validate(value) as boolean;
  } catch {
    // A recursive schema on a deeply nested body can exhaust the stack.
    return { status: 400, error: 'request body could not be validated', errors: [{ in: 'body', path: '', message: 'nests too deeply' }] };
  }
  if (valid) return null;
  const errors = bodyIssues(validate.errors).map((i): ValidationIssue => ({ in: 'body', path: i.path, message: i.message }));
  return { status: 400, error: 'request body does not match the schema', errors };
}

function cut(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

// Reads the service's answer into a decision. The contract: 2xx allows unless a JSON body says `"allow": false`;
// 401 and 403 deny; anything else (other statuses, a body that is not the documented JSON) means the service is
// not answering properly, so it is "unavailable" and the failure mode decides, never an accidental allow.
import type { Consumer } from '../policy-types.ts';

/** The longest a service may ask a decision to be cached for. */
export const MAX_TTL_SECONDS = 3600;

/** Consumer name of an allow whose answer names none (and of a fail-open allow). */
export const ANONYMOUS = 'anonymous';

export type Decision =
  /** `ttlMs` undefined: the answer set none, the authorizer's resultTtlMs applies. */
  | { kind: 'allow'; consumer: Consumer; headers: ReadonlyArray<readonly [string, string]>; ttlMs: number | undefined }
  | { kind: 'deny'; status: 401 | 403; ttlMs: number | undefined }
  /** `cause` is logged: a fixed phrase, never the answer's content (it may echo the credential). */
  | { kind: 'unavailable'; cause: string };

export interface AnswerPolicy {
  authorizerId: string;
  /** Lower-case: the only answer headers copied upstream. */
  contextHeaders: ReadonlySet<string>;
  consumerHeader: string;
}

// What Node and undici accept in a header value: no CR, LF, NUL or other control characters.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function readAnswer(status: number, body: Buffer, policy: AnswerPolicy): Decision {
  if (status !== 401 && status !== 403 && (status < 200 || status > 299)) return unavailable(`status ${status}`);
  const parsed = parseBody(body);
  if (status === 401 || status === 403) {
    // A denial stands whatever its body says (often a plain-text page); only a well-formed ttl is taken from it.
    const ttlMs = parsed === null || parsed === INVALID ? undefined : readTtl(parsed.ttl);
    return { kind: 'deny', status, ttlMs: ttlMs === INVALID ? undefined : ttlMs };
  }
  if (parsed === INVALID) return unavailable('malformed answer');
  if (parsed === null) return allow(ANONYMOUS, [], undefined, policy);
  const { allow: allowed, consumer, headers, ttl } = parsed;
  const ttlMs = readTtl(ttl);
  if (ttlMs === INVALID) return unavailable('malformed answer');
  // Only a real boolean decides: `"allow": "false"` must not read as an allow.
  if (allowed !== undefined && typeof allowed !== 'boolean') return unavailable('malformed answer');
  if (allowed === false) return { kind: 'deny', status: 403, ttlMs };
  let name = ANONYMOUS;
  if (consumer !== undefined) {
    if (typeof consumer !== 'string' || !HEADER_VALUE.test(consumer)) return unavailable('malformed answer');
    if (consumer.trim() !== '') name = consumer;
  }
  const context = readHeaders(headers, policy);
  if (context === INVALID) return unavailable('malformed answer');
  return allow(name, context, ttlMs, policy);
}

export function unavailable(cause: string): Decision {
  return { kind: 'unavailable', cause };
}

const INVALID = Symbol('invalid');

/** null for an empty body; a JSON object; else INVALID. */
function parseBody(body: Buffer): Record<string, unknown> | null | typeof INVALID {
  const text = body.toString('utf8');
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return INVALID;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : INVALID;
}

function readTtl(ttl: unknown): number | undefined | typeof INVALID {
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl)) return INVALID;
  return Math.round(Math.min(Math.max(ttl, 0), MAX_TTL_SECONDS) * 1000);
}

/**
 * The listed headers of the answer; the others are ignored. A listed header with a value that is not a clean
 * string makes the whole answer malformed: the upstream may rely on it, so it is not silently dropped.
 */
function readHeaders(headers: unknown, policy: AnswerPolicy): Array<[string, string]> | typeof INVALID {
  if (headers === undefined) return [];
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return INVALID;
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    // The consumer header is the gateway's to set, from `consumer`.
    if (!policy.contextHeaders.has(name) || name === policy.consumerHeader) continue;
    if (typeof value !== 'string' || !HEADER_VALUE.test(value) || seen.has(name)) return INVALID;
    seen.add(name);
    out.push([name, value]);
  }
  return out;
}

function allow(name: string, context: Array<[string, string]>, ttlMs: number | undefined, policy: AnswerPolicy): Decision {
  const consumer: Consumer = Object.freeze({ name, authorizer: policy.authorizerId, plan: undefined, claims: Object.freeze({}) });
  return { kind: 'allow', consumer, headers: [[policy.consumerHeader, name], ...context], ttlMs };
}

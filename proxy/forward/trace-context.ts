// W3C Trace Context (https://www.w3.org/TR/trace-context/): the gateway is a hop of the trace. A valid `traceparent`
// from the client keeps its trace id and flags and gets a new parent id (this hop's span); an absent or invalid one
// starts a new trace (sampled). Only version 00 is understood; anything else is treated as invalid and replaced, so a
// client's header never reaches an upstream unchecked.
import { randomFillSync } from 'node:crypto';

/** `00-` + 32 hex trace id + `-` + 16 hex parent id + `-` + 2 hex flags. */
const LENGTH = 55;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_PARENT = '0000000000000000';

// Random ids from a pool: one crypto call per POOL_BYTES instead of one per request (randomBytes per call costs
// about a microsecond; a slice of a pre-encoded hex string costs nanoseconds).
const POOL_BYTES = 16 * 1024;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let hex = '';
let at = POOL_BYTES * 2; // hex characters used; starts empty

function randomHex(chars: number): string {
  if (at + chars > hex.length) {
    randomFillSync(pool);
    hex = pool.toString('hex');
    at = 0;
  }
  const s = hex.slice(at, at + chars);
  at += chars;
  return s;
}

function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    // 0-9, a-f (lowercase only, as the spec requires)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** The client's traceparent if it is a valid version-00 header (as a string), else null. */
export function validTraceparent(sent: string | string[] | undefined): string | null {
  if (typeof sent !== 'string' || sent.length !== LENGTH) return null;
  if (sent.charCodeAt(0) !== 48 || sent.charCodeAt(1) !== 48) return null; // version 00
  if (sent[2] !== '-' || sent[35] !== '-' || sent[52] !== '-') return null;
  if (!isHex(sent, 3, 35) || !isHex(sent, 36, 52) || !isHex(sent, 53, 55)) return null;
  if (sent.slice(3, 35) === ZERO_TRACE || sent.slice(36, 52) === ZERO_PARENT) return null;
  return sent;
}

/**
 * The traceparent to send upstream: the client's trace id and flags with a new parent id, or a new sampled trace.
 * Its trace id is `traceIdOf(result)`.
 */
export function nextTraceparent(sent: string | string[] | undefined): string {
  const valid = validTraceparent(sent);
  if (valid !== null) return `00-${valid.slice(3, 35)}-${randomHex(16)}-${valid.slice(53, 55)}`;
  return `00-${randomHex(32)}-${randomHex(16)}-01`;
}

/** A random 32-hex trace id from the pool (the span exporter's ids come from here too: otlp-tracer.ts). */
export function randomTraceId(): string {
  return randomHex(32);
}

/** A random 16-hex span (parent) id from the pool. */
export function randomSpanId(): string {
  return randomHex(16);
}

/** The 32-hex trace id of a traceparent made by nextTraceparent. */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

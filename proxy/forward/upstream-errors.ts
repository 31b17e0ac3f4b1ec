// What went wrong upstream, in the terms the gateway answers with.

/** Thrown while streaming a request body that grew past the route's maxBodyBytes. */
export class BodyTooLargeError extends Error {
  readonly code = 'GATEHOUSE_BODY_TOO_LARGE';
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** The reason an upstream exchange is aborted by the gateway itself (client gone, request timeout). */
export class ExchangeAbortedError extends Error {
  readonly code = 'GATEHOUSE_ABORTED';
}

/** The client paused sending its request body longer than its body timeout (client-timeouts.ts). */
export class ClientBodyTimeoutError extends Error {
  readonly code = 'GATEHOUSE_CLIENT_BODY_TIMEOUT';
}

function codeOf(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/** The endpoint did not take the connection: the request never reached it, so retrying elsewhere is safe. */
export function isConnectFailure(err: Error): boolean {
  switch (codeOf(err)) {
    case 'ECONNREFUSED':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'UND_ERR_CLOSED': // the endpoint's pool was retired by a table swap
    case 'UND_ERR_DESTROYED':
      return true;
    default:
      return false;
  }
}

/** Failures that say the endpoint itself is down (passive health): refused, or no answer to the SYN in time. */
export function ejectsEndpoint(err: Error): boolean {
  const code = codeOf(err);
  return code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT';
}

export function isUpstreamTimeout(err: Error): boolean {
  const code = codeOf(err);
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

export function isBodyTooLarge(err: Error): boolean {
  return err instanceof BodyTooLargeError;
}

export function errorCode(err: Error): string {
  return codeOf(err) || err.name;
}

/**
 * Kinds of upstream failure, the `kind` label of gatehouse_upstream_errors_total: a fixed set, so an error code
 * never becomes a label value of its own.
 */
export const UPSTREAM_ERROR_KINDS = [
  'connect_refused',
  'connect_timeout',
  'unreachable',
  'dns',
  'pool_closed',
  'headers_timeout',
  'body_timeout',
  'request_timeout',
  'reset',
  'tls',
  'protocol',
  'other',
] as const;

export type UpstreamErrorKind = (typeof UPSTREAM_ERROR_KINDS)[number];

const KIND_BY_CODE = new Map<string, UpstreamErrorKind>([
  ['ECONNREFUSED', 'connect_refused'],
  ['UND_ERR_CONNECT_TIMEOUT', 'connect_timeout'],
  ['EHOSTUNREACH', 'unreachable'],
  ['ENETUNREACH', 'unreachable'],
  ['EADDRNOTAVAIL', 'unreachable'],
  ['ENOTFOUND', 'dns'],
  ['EAI_AGAIN', 'dns'],
  ['UND_ERR_CLOSED', 'pool_closed'],
  ['UND_ERR_DESTROYED', 'pool_closed'],
  ['UND_ERR_HEADERS_TIMEOUT', 'headers_timeout'],
  ['UND_ERR_BODY_TIMEOUT', 'body_timeout'],
  ['UND_ERR_SOCKET', 'reset'], // undici's "other side closed" and socket errors mid-exchange
  ['ECONNRESET', 'reset'],
  ['EPIPE', 'reset'],
  ['EPROTO', 'tls'],
  ['UND_ERR_HEADERS_OVERFLOW', 'protocol'],
  ['UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE', 'protocol'],
  ['UND_ERR_INFO', 'protocol'],
]);

/** What kind of upstream failure `err` is. */
export function upstreamErrorKind(err: Error): UpstreamErrorKind {
  const code = codeOf(err);
  const kind = KIND_BY_CODE.get(code);
  if (kind !== undefined) return kind;
  // Node's TLS errors and OpenSSL's certificate ones (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, …).
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.includes('CERT') || code.includes('SIGNATURE')) return 'tls';
  // llhttp's parse errors of a malformed response.
  if (code.startsWith('HPE_')) return 'protocol';
  return 'other';
}

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

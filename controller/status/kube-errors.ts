// How the status writer, event recorder and lease elector read failures from @kubernetes/client-node 2.x,
// which throws ApiException (with `code`) for HTTP errors and plain errors for network failures.

/** The HTTP status of a failed API call, or undefined when the request never got an answer. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number') return err.code;
  return undefined;
}

/** Worth another try: conflicts, throttling, server trouble and network errors. Client errors (400, 403, 422) are not. */
export function isRetryable(err: unknown): boolean {
  const code = httpStatusOf(err);
  return code === undefined || code === 409 || code === 429 || code >= 500;
}

/** A short description for logs; ApiException carries the response body as text (a Status object in JSON). */
export function describeApiError(err: unknown): string {
  const code = httpStatusOf(err);
  if (code === undefined) return err instanceof Error ? err.message : String(err);
  const body = typeof err === 'object' && err !== null && 'body' in err ? err.body : undefined;
  const message = statusMessage(body);
  return `HTTP ${code}${message ? `: ${message}` : ''}`;
}

function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 300);
    }
  }
  if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') return parsed.message;
  return undefined;
}

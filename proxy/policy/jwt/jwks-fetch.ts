// One GET of a JWK Set over undici: bounded in time and size, never following redirects, and reporting every
// failure as a JwksFetchError whose message is safe to log and show in status (status code, error code, size):
// never response bytes, which could be anything the server sent.
import type { Dispatcher } from 'undici';
import { undiciPackage } from '../../runtime/on-demand-packages.ts';

export interface JwksFetchLimits {
  /** Whole-request deadline: a slow or hung issuer must not hold a refresh (or a waiting request) for long. */
  timeoutMs: number;
  /** A JWK Set is a few KiB; the bound keeps a broken or hostile endpoint from filling the proxy's memory. */
  maxBytes: number;
}

export const DEFAULT_FETCH_LIMITS: JwksFetchLimits = { timeoutMs: 5_000, maxBytes: 1024 * 1024 };

export interface FetchedJwks {
  /** The parsed JSON body (not yet checked to be a JWK Set). */
  body: unknown;
  /** The response's Cache-Control header, if any. */
  cacheControl: string | undefined;
}

export class JwksFetchError extends Error {
  override name = 'JwksFetchError';
}

export async function fetchJwks(uri: string, dispatcher: Dispatcher, limits: JwksFetchLimits, signal: AbortSignal): Promise<FetchedJwks> {
  let res: Dispatcher.ResponseData;
  try {
    res = await undiciPackage().request(uri, {
      method: 'GET',
      dispatcher,
      headers: { accept: 'application/jwk-set+json, application/json' },
      headersTimeout: limits.timeoutMs,
      bodyTimeout: limits.timeoutMs,
      signal: AbortSignal.any([signal, AbortSignal.timeout(limits.timeoutMs)]),
    });
  } catch (err) {
    throw new JwksFetchError(`request failed: ${describe(err)}`);
  }
  try {
    if (res.statusCode !== 200) throw new JwksFetchError(`HTTP ${res.statusCode}`);
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > limits.maxBytes) throw new JwksFetchError(`response larger than ${limits.maxBytes} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limits.maxBytes) throw new JwksFetchError(`response larger than ${limits.maxBytes} bytes`);
      chunks.push(chunk);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new JwksFetchError('response is not JSON');
    }
    const cacheControl = res.headers['cache-control'];
    return { body, cacheControl: Array.isArray(cacheControl) ? cacheControl.join(', ') : cacheControl };
  } catch (err) {
    // Whatever is left of the body is not wanted: drop the connection rather than read it (undici reports the
    // abort as a stream error, which has nobody else to go to).
    res.body.once('error', () => {});
    res.body.destroy();
    if (err instanceof JwksFetchError) throw err;
    throw new JwksFetchError(`reading the response failed: ${describe(err)}`);
  }
}

/**
 * The response's freshness lifetime in seconds from Cache-Control: `max-age`, or 0 for `no-store`/`no-cache`;
 * undefined when it says neither (the authorizer's own cacheMs then applies).
 */
export function maxAgeSeconds(cacheControl: string | undefined): number | undefined {
  if (cacheControl === undefined) return undefined;
  let maxAge: number | undefined;
  for (const directive of cacheControl.split(',')) {
    const [rawName = '', rawValue] = directive.split('=', 2);
    const name = rawName.trim().toLowerCase();
    if (name === 'no-store' || name === 'no-cache') return 0;
    if (name === 'max-age' && maxAge === undefined && rawValue !== undefined) {
      const value = rawValue.trim().replace(/^"(.*)"$/, '$1');
      if (/^\d{1,10}$/.test(value)) maxAge = Number(value);
    }
  }
  return maxAge;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message || err.name;
  }
  return String(err);
}

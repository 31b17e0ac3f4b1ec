// CORS headers on the answers to actual (non-preflight) requests of a CORS route. They are set on the response
// before anything is written, so every answer carries them: the upstream's, and the gateway's own errors (401, 403,
// 429, 413, 502, 504), which a browser script can then read. The upstream's own Access-Control-* headers are
// dropped (upstream-response-headers.ts): on a CORS route the gateway alone decides, so an upstream that reflects
// any origin cannot widen the route's policy.
import type { GatewayResponse } from '../../server/gateway-request.ts';
import type { RouteCors } from './route-cors.ts';

/**
 * `Vary: Origin` always (a response without Origin must not be cached and served to a cross-origin request); the
 * Allow-Origin, Allow-Credentials and Expose-Headers fields only for an allowed Origin. A refused origin gets no CORS
 * field, so the browser withholds the response from the script; the request itself is still served, as CORS is
 * a read permission for browsers, not access control.
 */
export function setCorsHeaders(cors: RouteCors, origin: string | undefined, res: GatewayResponse): void {
  res.setHeader('vary', 'Origin');
  if (origin === undefined || !cors.origins.allows(origin)) return;
  res.setHeader('access-control-allow-origin', cors.allowOriginFor(origin));
  if (cors.credentials) res.setHeader('access-control-allow-credentials', 'true');
  if (cors.exposeHeaders !== null) res.setHeader('access-control-expose-headers', cors.exposeHeaders);
}

/** The upstream's Vary with `field` added once (kept as is when it already lists it, or is "*"). */
export function withVary(vary: string | string[] | undefined, field: string): string {
  if (vary === undefined) return field;
  const joined = typeof vary === 'string' ? vary : vary.join(', ');
  const wanted = field.toLowerCase();
  for (const part of joined.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === wanted || name === '*') return joined;
  }
  return joined.trim() === '' ? field : `${joined}, ${field}`;
}

export function isCorsHeader(lowerName: string): boolean {
  return lowerName.startsWith('access-control-');
}

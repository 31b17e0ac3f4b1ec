// The refusals of a JWT authorizer (RFC 6750 §3). Every invalid token gets the same body and challenge, whatever
// failed: telling a caller which check it tripped (kid, signature, claim) only helps someone forging tokens.
// The reason label, for metrics, separates only what an operator needs: missing, expired, invalid, JWKS down.
import type { Denial } from '../policy-types.ts';

const REALM = 'Bearer realm="gatehouse"';

/** No credentials: a bare challenge, with no error code (RFC 6750 §3.1). */
export function missingToken(): Denial {
  return { status: 401, error: 'missing credentials', reason: 'missing', headers: { 'www-authenticate': REALM } };
}

export function invalidToken(reason: 'invalid' | 'expired'): Denial {
  return { status: 401, error: 'invalid token', reason, headers: { 'www-authenticate': `${REALM}, error="invalid_token"` } };
}

/** The keys cannot be had: the token may well be valid, so not a 401 (and no challenge to retry with other credentials). */
export function authorizerUnavailable(): Denial {
  return { status: 503, error: 'authorizer unavailable', reason: 'jwks-unavailable' };
}

// The registered claims a gateway checks (RFC 7519 §4.1), as jose checks them, with the clock skew as leeway:
// iss equal, aud containing one of ours, exp required and in the future, nbf and iat (when present) not in the future.
export type ClaimsVerdict = 'ok' | 'expired' | 'invalid';

export interface ClaimRules {
  issuer: string;
  audiences: readonly string[];
  skewMs: number;
}

export function checkClaims(payload: Readonly<Record<string, unknown>>, rules: ClaimRules, nowMs: number): ClaimsVerdict {
  if (payload.iss !== rules.issuer) return 'invalid';
  const aud = payload.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : null;
  if (audiences === null || !audiences.some((a) => typeof a === 'string' && rules.audiences.includes(a))) return 'invalid';
  const { exp, nbf, iat } = payload;
  // A token without exp would be valid forever, and so would its verified-cache entry.
  if (!isNumericDate(exp)) return 'invalid';
  if (nbf !== undefined && !isNumericDate(nbf)) return 'invalid';
  if (iat !== undefined && !isNumericDate(iat)) return 'invalid';
  if (typeof nbf === 'number' && nbf * 1000 > nowMs + rules.skewMs) return 'invalid';
  // jose checks iat only against a maximum age; one issued in the future is a broken or forged issuer clock.
  if (typeof iat === 'number' && iat * 1000 > nowMs + rules.skewMs) return 'invalid';
  if (exp * 1000 <= nowMs - rules.skewMs) return 'expired';
  return 'ok';
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

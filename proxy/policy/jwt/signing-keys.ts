// Which keys of a JWK Set may verify a JWT, and which of them fit a given token's header.
// A key is kept only if it is a public signature key of a type the allowed algorithms use (RSA ≥ 2048 bits,
// EC P-256/384/521, Ed25519) and node:crypto imports it; everything else (oct secrets, `use: enc`, unknown curves,
// malformed members) is skipped. Keys are imported once here, so verification never parses a JWK.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../../table/table-schema.ts';

/** The key type and curve an algorithm needs: a key of another family never verifies it (no RSA key as an HMAC secret, no curve confusion). */
export type KeyFamily = 'RSA' | 'P-256' | 'P-384' | 'P-521' | 'Ed25519';

export interface SigningKey {
  readonly kid: string | undefined;
  /** The JWK's `alg`, when it pins one. */
  readonly alg: JwtAlgorithm | undefined;
  readonly family: KeyFamily;
  readonly key: KeyObject;
  /** kid, alg and public members: tells "the same key" from "removed or replaced" across fetches. */
  readonly identity: string;
}

/** Keys past this many in one set are ignored: a real issuer publishes a handful, and each costs an import. */
export const MAX_KEYS_PER_SET = 100;

const FAMILY_OF_ALG: Readonly<Record<JwtAlgorithm, KeyFamily>> = {
  RS256: 'RSA', RS384: 'RSA', RS512: 'RSA', PS256: 'RSA', PS384: 'RSA', PS512: 'RSA',
  ES256: 'P-256', ES384: 'P-384', ES512: 'P-521',
  EdDSA: 'Ed25519', // Ed448 is left out, as jose and most issuers do
};

const ALGORITHMS: ReadonlySet<string> = new Set(JWT_ALGORITHMS);

export function familyOf(alg: string): KeyFamily | undefined {
  return ALGORITHMS.has(alg) ? FAMILY_OF_ALG[alg as JwtAlgorithm] : undefined;
}

export interface KeySetParse {
  keys: SigningKey[];
  /** Entries that were not usable signature keys. */
  skipped: number;
}

/** Throws when `body` is not a JWK Set at all; otherwise returns its usable keys (possibly none). */
export function parseJwkSet(body: unknown): KeySetParse {
  if (!isObject(body) || !Array.isArray(body.keys)) throw new Error('response is not a JWK Set (no "keys" array)');
  return signingKeysOf(body.keys);
}

export function signingKeysOf(jwks: readonly unknown[]): KeySetParse {
  const keys: SigningKey[] = [];
  const seen = new Set<string>();
  for (const jwk of jwks.slice(0, MAX_KEYS_PER_SET)) {
    const key = toSigningKey(jwk);
    if (key !== null && !seen.has(key.identity)) {
      seen.add(key.identity);
      keys.push(key);
    }
  }
  return { keys, skipped: jwks.length - keys.length };
}

function toSigningKey(jwk: unknown): SigningKey | null {
  if (!isObject(jwk)) return null;
  const { kty, kid, use, alg, key_ops: keyOps, crv } = jwk;
  if (kid !== undefined && typeof kid !== 'string') return null;
  if (use !== undefined && use !== 'sig') return null;
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) return null;
  if (alg !== undefined && (typeof alg !== 'string' || !ALGORITHMS.has(alg))) return null;
  // Only the public members are read: a set that (wrongly) publishes private parts still yields public keys.
  let family: KeyFamily;
  let members: JsonWebKey;
  if (kty === 'RSA' && typeof jwk.n === 'string' && typeof jwk.e === 'string') {
    family = 'RSA';
    members = { kty, n: jwk.n, e: jwk.e };
  } else if (kty === 'EC' && (crv === 'P-256' || crv === 'P-384' || crv === 'P-521') && typeof jwk.x === 'string' && typeof jwk.y === 'string') {
    family = crv;
    members = { kty, crv, x: jwk.x, y: jwk.y };
  } else if (kty === 'OKP' && crv === 'Ed25519' && typeof jwk.x === 'string') {
    family = crv;
    members = { kty, crv, x: jwk.x };
  } else {
    return null;
  }
  if (alg !== undefined && FAMILY_OF_ALG[alg as JwtAlgorithm] !== family) return null;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: members, format: 'jwk' });
  } catch {
    return null;
  }
  // Shorter RSA keys are refused (RFC 7518 §3.3 requires 2048 bits, and jose refuses them too).
  if (family === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return null;
  return { kid, alg: alg as JwtAlgorithm | undefined, family, key, identity: JSON.stringify([kid ?? null, alg ?? null, members]) };
}

/** The keys that may have signed a token with this header: same family as `alg`, same `alg` if the key pins one, same `kid` if the token names one. */
export function candidateKeys(keys: readonly SigningKey[], alg: string, kid: string | undefined): SigningKey[] {
  const family = familyOf(alg);
  if (family === undefined) return [];
  return keys.filter((k) => k.family === family && (k.alg === undefined || k.alg === alg) && (kid === undefined || k.kid === kid));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// The JWT authorizer: reads a bearer token, verifies it against the issuer's keys, and names the caller by `sub`.
// Fails closed: anything not positively verified is a 401, and keys that cannot be had are a 503.
//
// Hot path: a token seen before and still inside its validity window is answered synchronously from the
// verified-token cache (a sha256 and a map lookup); only a miss returns a promise.
import type { Logger } from 'pino';
import type { JwtAlgorithm, TableJwtAuthorizer } from '../../table/table-schema.ts';
import { readCredential } from '../credential-source.ts';
import type { AuthMetrics, AuthResult, Authenticator, Clock, Consumer, Denial, PolicyContext } from '../policy-types.ts';
import { authorizerUnavailable, invalidToken, missingToken } from './bearer-challenge.ts';
import { claimHeaders, isHeaderSafe } from './claim-headers.ts';
import { JwksUnavailableError, type JwksProvider } from './jwks-cache.ts';
import { candidateKeys, familyOf, signingKeysOf, type SigningKey } from './signing-keys.ts';
import { VerifiedTokenCache } from './verified-token-cache.ts';
import { parseCompactJws, signatureValid } from './compact-jws.ts';
import { checkClaims, type ClaimRules } from './jwt-claims.ts';

export type { JwksProvider } from './jwks-cache.ts';

export interface JwtDeps {
  clock: Clock;
  metrics: AuthMetrics;
  logger: Logger;
  jwks: JwksProvider;
  /** Verified tokens remembered per authorizer (default 10,000). */
  tokenCacheSize?: number;
}

/** Longer is refused unread: far beyond any real JWT, and it bounds what one request makes us hash and parse. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

interface Verified {
  consumer: Consumer;
  headers: ReadonlyArray<[string, string]>;
}

interface KeySource {
  keysFor(alg: string, kid: string | undefined): Promise<readonly SigningKey[]>;
}

export function createJwtAuthenticator(config: TableJwtAuthorizer, deps: JwtDeps): Authenticator {
  return new JwtAuthenticator(config, deps);
}

class JwtAuthenticator implements Authenticator {
  readonly id: string;
  readonly ownedHeaders: readonly string[];
  readonly #config: TableJwtAuthorizer;
  readonly #deps: JwtDeps;
  readonly #keys: KeySource;
  readonly #cache: VerifiedTokenCache<Verified>;
  /** Only asymmetric algorithms the key families cover; HS* or `none` never get here even if a table carried them. */
  readonly #algorithms: ReadonlySet<string>;
  readonly #claimRules: ClaimRules;
  readonly #unsubscribe: () => void;

  constructor(config: TableJwtAuthorizer, deps: JwtDeps) {
    this.id = config.id;
    this.#config = config;
    this.#deps = deps;
    this.ownedHeaders = [...new Set([config.consumerHeader, ...config.claimsToHeaders.map(([, header]) => header)])];
    this.#cache = new VerifiedTokenCache(deps.tokenCacheSize ?? 10_000);
    this.#algorithms = new Set(config.algorithms.filter((alg) => familyOf(alg) !== undefined));
    this.#claimRules = { issuer: config.issuer, audiences: config.audiences, skewMs: config.clockSkewMs };
    if (config.jwks.source === 'uri') {
      const cache = deps.jwks.forUri(config.jwks);
      // A removed key may have been revoked: tokens it verified must be checked again, so they leave the cache.
      // Clearing everything is simpler than tracking each entry's key, and removals are rare (rotations).
      this.#unsubscribe = cache.onKeysRemoved(() => this.#cache.clear());
      cache.prefetch();
      this.#keys = cache;
    } else {
      const { keys, skipped } = signingKeysOf(config.jwks.keys);
      if (keys.length === 0) deps.logger.error({ authorizer: config.id, skipped }, 'JWT authorizer has no usable inline key; every request answers 503');
      this.#keys = {
        keysFor: async (alg, kid) => {
          if (keys.length === 0) throw new JwksUnavailableError('no usable inline key');
          return candidateKeys(keys, alg, kid);
        },
      };
      this.#unsubscribe = () => {};
    }
  }

  authenticate(ctx: PolicyContext): AuthResult | Promise<AuthResult> {
    const token = readCredential(this.#config.token, ctx.req.headers, ctx.query);
    if (token === null) return this.#deny(missingToken());
    if (token.length > MAX_TOKEN_LENGTH) return this.#deny(invalidToken('invalid'));
    const key = VerifiedTokenCache.keyOf(token);
    const hit = this.#cache.get(key, this.#deps.clock());
    this.#deps.metrics.cacheLookup('token', hit !== undefined);
    if (hit !== undefined) {
      this.#deps.metrics.decision(this.id, 'allow', 'ok');
      return { ok: true, consumer: hit.consumer, headers: hit.headers.slice() };
    }
    return this.#verify(token, key, this.#cache.generation);
  }

  close(): void {
    this.#unsubscribe();
    this.#cache.clear();
  }

  async #verify(token: string, cacheKey: string, generation: number): Promise<AuthResult> {
    const jws = parseCompactJws(token);
    if (jws === null) return this.#refuse('malformed');
    const { alg, kid } = jws.header;
    if (typeof alg !== 'string' || !this.#algorithms.has(alg) || (kid !== undefined && typeof kid !== 'string')) return this.#refuse('algorithm');
    let keys: readonly SigningKey[];
    try {
      keys = await this.#keys.keysFor(alg, kid);
    } catch (err) {
      if (err instanceof JwksUnavailableError) return this.#unavailable();
      throw err;
    }
    // Several keys fit only when the token names no kid: any one of them may have signed it.
    if (!keys.some((k) => signatureValid(jws, alg as JwtAlgorithm, k.key))) return this.#refuse('signature');
    const now = this.#deps.clock();
    const verdict = checkClaims(jws.payload, this.#claimRules, now);
    if (verdict !== 'ok') return this.#refuse(verdict === 'expired' ? 'expired' : 'claims', verdict);
    const { sub, nbf, exp } = jws.payload;
    // The consumer is named by sub, and sub goes upstream in a header: without a header-safe one there is no caller.
    if (typeof sub !== 'string' || sub === '' || !isHeaderSafe(sub)) return this.#refuse('subject');
    const claims = deepFreeze({ ...jws.payload });
    const consumer: Consumer = Object.freeze({ name: sub, authorizer: this.id, plan: undefined, claims });
    const headers: Array<[string, string]> = [[this.#config.consumerHeader, sub], ...claimHeaders(claims, this.#config.claimsToHeaders, this.#config.consumerHeader)];
    const skewMs = this.#config.clockSkewMs;
    this.#cache.set(
      cacheKey,
      { consumer, headers },
      // Past exp never: the cache holds a token strictly less long than the verification would accept it.
      { notBeforeMs: typeof nbf === 'number' ? nbf * 1000 - skewMs : Number.NEGATIVE_INFINITY, expiresAtMs: (exp as number) * 1000, nowMs: now },
      generation,
    );
    this.#deps.metrics.decision(this.id, 'allow', 'ok');
    return { ok: true, consumer, headers: headers.slice() };
  }

  /** A 401 that says nothing of why; the why (a fixed word, never the token or its claims) goes to the debug log. */
  #refuse(why: string, reason: 'invalid' | 'expired' = 'invalid'): AuthResult {
    this.#deps.logger.debug({ authorizer: this.id, why }, 'JWT refused');
    return this.#deny(invalidToken(reason));
  }

  #deny(denial: Denial): AuthResult {
    this.#deps.metrics.decision(this.id, 'deny', denial.reason);
    return { ok: false, denial };
  }

  #unavailable(): AuthResult {
    const denial = authorizerUnavailable();
    this.#deps.metrics.decision(this.id, 'error', denial.reason);
    return { ok: false, denial };
  }
}

/** Claims are shared by every request the cached token answers: frozen so one request's code cannot change another's. */
function deepFreeze<T extends object>(root: T): Readonly<T> {
  // Iterative: a token's JSON may nest deeply enough to exhaust the stack of a recursive walk.
  const stack: object[] = [root];
  while (stack.length > 0) {
    const value = stack.pop() as object;
    if (Object.isFrozen(value)) continue;
    Object.freeze(value);
    for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) stack.push(child);
  }
  return root;
}

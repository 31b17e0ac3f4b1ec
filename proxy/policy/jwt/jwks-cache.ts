// JWKS caches for JWT authorizers whose keys come from a URI: one cache per (uri, CA), shared by every authorizer
// naming that source and carried across table swaps, so a swap neither refetches nor forgets good keys.
//
//   const caches = new JwksCaches({ clock, metrics, logger });      // the proxy's registry (a JwksProvider)
//   const cache = caches.forUri({ uri, caPem, cacheMs });           // same uri + caPem → the same JwksCache
//   await cache.keysFor(alg, kid)     // keys that may have signed a token; JwksUnavailableError when none were ever fetched
//   cache.state()                     // { uri, keys, lastSuccessAt?, lastError? } for status, metrics and debug
//   cache.onKeysRemoved(fn)           // → unsubscribe; a verified-token cache clears itself when a key goes away
//   caches.retainOnly(keys)           // after a swap: close every cache whose key (JwksCaches.keyOf(source)) is not listed
//   caches.close()                    // at shutdown
//
// Freshness rules, all timed by the injected clock (no timers: a refresh is started by the request that finds the
// keys stale, so an idle proxy fetches nothing and nothing keeps the process alive):
// - keys are fresh for the response's Cache-Control max-age clamped to [30 s, 24 h] (an issuer can neither make us
//   fetch per request nor pin a set for days), else for the authorizer's cacheMs (the shortest one asked for);
// - stale keys keep being served while one background refresh runs: no request waits when good keys exist;
// - a failed fetch (network, status, size, JSON) or a set with no usable key keeps the previous keys, and no other
//   refresh starts for 10 s;
// - a token naming an unknown kid may trigger one refetch per 30 s per cache (the issuer may have rotated); a burst of
//   forged kids therefore costs one fetch, and concurrent callers join the fetch in flight rather than start another;
// - with no keys ever fetched, keysFor rejects with JwksUnavailableError (the authorizer answers 503, not 401).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import { undiciPackage } from '../../runtime/on-demand-packages.ts';
import { trustContext } from '../../runtime/upstream-tls.ts';
import type { AuthMetrics, Clock } from '../policy-types.ts';
import { DEFAULT_FETCH_LIMITS, fetchJwks, maxAgeSeconds, type JwksFetchLimits } from './jwks-fetch.ts';
import { candidateKeys, parseJwkSet, type SigningKey } from './signing-keys.ts';

export interface JwksSource {
  uri: string;
  /** PEM CA bundle that replaces the default roots for an https uri. */
  caPem?: string;
  cacheMs: number;
}

export interface JwksState {
  uri: string;
  keys: number;
  lastSuccessAt?: number;
  /** Set while fetches fail; `since` is when the first of the current run of failures happened. */
  lastError?: { message: string; since: number };
}

export interface JwksCacheDeps {
  clock: Clock;
  metrics: AuthMetrics;
  logger: Logger;
}

export interface JwksCacheTuning extends JwksFetchLimits {
  minMaxAgeMs: number;
  maxMaxAgeMs: number;
  unknownKidCooldownMs: number;
  retryAfterFailureMs: number;
}

export const DEFAULT_JWKS_TUNING: JwksCacheTuning = {
  ...DEFAULT_FETCH_LIMITS,
  minMaxAgeMs: 30_000,
  maxMaxAgeMs: 24 * 60 * 60_000,
  unknownKidCooldownMs: 30_000,
  retryAfterFailureMs: 10_000,
};

/** No keys were ever fetched from the source: the caller's token cannot be checked either way. */
export class JwksUnavailableError extends Error {
  override name = 'JwksUnavailableError';
}

export class JwksCache {
  readonly uri: string;
  readonly #deps: JwksCacheDeps;
  readonly #tuning: JwksCacheTuning;
  readonly #agent: Agent;
  readonly #closing = new AbortController();
  #cacheMs: number;
  #keys: readonly SigningKey[] | null = null;
  #freshUntil = 0;
  /** After a failure, no background or first fetch before this. */
  #retryAt = 0;
  #lastKidRefetchAt = Number.NEGATIVE_INFINITY;
  #lastSuccessAt: number | undefined;
  #lastError: { message: string; since: number } | undefined;
  #inFlight: Promise<void> | null = null;
  readonly #removalListeners = new Set<() => void>();

  constructor(source: JwksSource, deps: JwksCacheDeps, tuning: JwksCacheTuning = DEFAULT_JWKS_TUNING) {
    this.uri = source.uri;
    this.#cacheMs = source.cacheMs;
    this.#deps = deps;
    this.#tuning = tuning;
    // Its own agent: the CA applies to this source only, and close() can drop its connections.
    // Trust as for backends (upstream-tls.ts): only the given CA, else the system CAs (bundled, OS store, extra).
    this.#agent = new (undiciPackage().Agent)({ connect: { timeout: tuning.timeoutMs, secureContext: trustContext(source.caPem) } });
  }

  /** Another authorizer uses this source: the shortest cacheMs wins (fresher keys never hurt correctness). */
  useCacheMs(cacheMs: number): void {
    if (cacheMs < this.#cacheMs) {
      this.#cacheMs = cacheMs;
      if (this.#lastSuccessAt !== undefined) this.#freshUntil = Math.min(this.#freshUntil, this.#lastSuccessAt + cacheMs);
    }
  }

  /** Starts the first fetch without waiting for a request (an authorizer entering the table calls it). */
  prefetch(): void {
    if (this.#keys === null && this.#inFlight === null && this.#deps.clock() >= this.#retryAt) void this.#refresh();
  }

  /** Fetches now, whatever the freshness (the controller's health watch calls it on its own schedule). Never rejects. */
  probe(): Promise<void> {
    return this.#refresh();
  }

  /** The keys that may have signed a token with this header (possibly none: the token is then invalid). */
  async keysFor(alg: string, kid: string | undefined): Promise<readonly SigningKey[]> {
    const now = this.#deps.clock();
    if (this.#keys === null) {
      if (this.#inFlight !== null) await this.#inFlight;
      else if (now >= this.#retryAt) await this.#refresh();
      if (this.#keys === null) throw new JwksUnavailableError('no JWKS keys fetched yet');
    } else if (now >= this.#freshUntil && this.#inFlight === null && now >= this.#retryAt) {
      void this.#refresh(); // serve the stale keys meanwhile
    }
    const found = candidateKeys(this.#keys, alg, kid);
    if (found.length > 0) return found;
    // Unknown kid (or no key for this alg): the issuer may have rotated. Join a fetch in flight, or start one if
    // the cooldown allows; otherwise the answer stands.
    if (this.#inFlight !== null) {
      await this.#inFlight;
    } else if (now - this.#lastKidRefetchAt >= this.#tuning.unknownKidCooldownMs && !this.#closing.signal.aborted) {
      this.#lastKidRefetchAt = now;
      await this.#refresh();
    } else {
      return found;
    }
    return candidateKeys(this.#keys, alg, kid);
  }

  /** A fetch is running (for status and debug). */
  get refreshing(): boolean {
    return this.#inFlight !== null;
  }

  onKeysRemoved(listener: () => void): () => void {
    this.#removalListeners.add(listener);
    return () => this.#removalListeners.delete(listener);
  }

  state(): JwksState {
    const state: JwksState = { uri: this.uri, keys: this.#keys?.length ?? 0 };
    if (this.#lastSuccessAt !== undefined) state.lastSuccessAt = this.#lastSuccessAt;
    if (this.#lastError !== undefined) state.lastError = { ...this.#lastError };
    return state;
  }

  /** Stops fetching (an in-flight fetch is aborted); the keys held keep answering for authorizers not yet closed. */
  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.#agent.destroy().catch(() => {});
  }

  /** One fetch at a time: callers arriving while it runs share it. Never rejects. */
  #refresh(): Promise<void> {
    if (this.#inFlight === null) {
      if (this.#closing.signal.aborted) return Promise.resolve();
      this.#inFlight = this.#fetchOnce().finally(() => {
        this.#inFlight = null;
      });
    }
    return this.#inFlight;
  }

  async #fetchOnce(): Promise<void> {
    let fetched;
    let keys: SigningKey[];
    try {
      fetched = await fetchJwks(this.uri, this.#agent, this.#tuning, this.#closing.signal);
      keys = parseJwkSet(fetched.body).keys;
    } catch (err) {
      if (this.#closing.signal.aborted) return;
      this.#deps.metrics.jwksFetch('error');
      this.#failed(err instanceof Error ? err.message : String(err));
      return;
    }
    if (this.#closing.signal.aborted) return;
    if (keys.length === 0) {
      // An empty or all-unusable set is far likelier a broken endpoint than a real "trust nothing": keep the old keys.
      this.#deps.metrics.jwksFetch('refused');
      this.#failed('JWK Set has no usable signature key');
      return;
    }
    this.#deps.metrics.jwksFetch('ok');
    const now = this.#deps.clock();
    const previous = this.#keys;
    this.#keys = keys;
    this.#freshUntil = now + this.#lifetimeMs(fetched.cacheControl);
    this.#retryAt = 0;
    this.#lastSuccessAt = now;
    if (this.#lastError !== undefined) {
      this.#deps.logger.info({ uri: this.uri, keys: keys.length }, 'JWKS fetch succeeded again');
      this.#lastError = undefined;
    }
    if (previous !== null) {
      const kept = new Set(keys.map((k) => k.identity));
      if (previous.some((k) => !kept.has(k.identity))) {
        this.#deps.logger.info({ uri: this.uri, keys: keys.length, before: previous.length }, 'JWKS keys removed or replaced');
        for (const listener of this.#removalListeners) listener();
      }
    }
  }

  #failed(message: string): void {
    const now = this.#deps.clock();
    this.#retryAt = now + this.#tuning.retryAfterFailureMs;
    // Logged when fetching starts to fail, not on every retry; state() carries the latest message.
    if (this.#lastError === undefined) {
      this.#deps.logger.warn({ uri: this.uri, err: message, keptKeys: this.#keys?.length ?? 0 }, 'JWKS fetch failed; keeping the previous keys');
      this.#lastError = { message, since: now };
    } else {
      this.#lastError = { message, since: this.#lastError.since };
    }
  }

  #lifetimeMs(cacheControl: string | undefined): number {
    const maxAge = maxAgeSeconds(cacheControl);
    if (maxAge === undefined) return this.#cacheMs;
    return Math.min(Math.max(maxAge * 1000, this.#tuning.minMaxAgeMs), this.#tuning.maxMaxAgeMs);
  }
}

/** What a JWT authorizer needs from the registry. */
export interface JwksProvider {
  /** The shared cache for this source (same uri + caPem → same cache, carried across table swaps). */
  forUri(source: JwksSource): JwksCache;
}

export class JwksCaches implements JwksProvider {
  readonly #deps: JwksCacheDeps;
  readonly #tuning: JwksCacheTuning;
  readonly #caches = new Map<string, JwksCache>();

  constructor(deps: JwksCacheDeps, tuning: JwksCacheTuning = DEFAULT_JWKS_TUNING) {
    this.#deps = deps;
    this.#tuning = tuning;
  }

  /** The registry key of a source: the uri and a digest of the CA (a PEM is long, and keys show up in debug output). */
  static keyOf(source: Pick<JwksSource, 'uri' | 'caPem'>): string {
    return source.caPem === undefined ? source.uri : `${source.uri} ca:${createHash('sha256').update(source.caPem).digest('hex').slice(0, 16)}`;
  }

  forUri(source: JwksSource): JwksCache {
    const key = JwksCaches.keyOf(source);
    let cache = this.#caches.get(key);
    if (cache === undefined) {
      cache = new JwksCache(source, this.#deps, this.#tuning);
      this.#caches.set(key, cache);
    } else {
      cache.useCacheMs(source.cacheMs);
    }
    return cache;
  }

  keys(): string[] {
    return [...this.#caches.keys()];
  }

  states(): JwksState[] {
    return [...this.#caches.values()].map((c) => c.state());
  }

  /** Closes and forgets every cache whose key is not listed (the sources of the authorizers in the new table). */
  retainOnly(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const [key, cache] of this.#caches) {
      if (!keep.has(key)) {
        cache.close();
        this.#caches.delete(key);
      }
    }
  }

  close(): void {
    this.retainOnly([]);
  }
}

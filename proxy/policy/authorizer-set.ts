// The table's Authorizers as authenticators, rebuilt only when their compiled form changes: an unchanged Authorizer
// keeps its authenticator across table swaps, and with it its verified-token or decision cache and its connections.
// JWKS caches live one level up (shared by every authorizer naming the same URI), so even a changed JWT Authorizer
// keeps its keys.
import type { Logger } from 'pino';
import type { TableAuthorizer } from '../table/table-schema.ts';
import { keepUnchanged } from './keep-unchanged.ts';
import { createApiKeyAuthenticator } from './api-key/api-key-authenticator.ts';
import type { ClientAddresses } from './client-ip/client-address.ts';
import { createExternalAuthenticator } from './external/external-authenticator.ts';
import { JwksCaches } from './jwt/jwks-cache.ts';
import { createJwtAuthenticator } from './jwt/jwt-authenticator.ts';
import type { AuthMetrics, Authenticator, Clock } from './policy-types.ts';
import { rateLimitEnvFor, type RateLimitEnv } from './rate-limit/rate-limit-env.ts';

/** What the policies of every runtime of one gateway share, carried from table to table. */
export interface PolicyEnv {
  clock: Clock;
  metrics: AuthMetrics;
  logger: Logger;
  jwks: JwksCaches;
  addresses: ClientAddresses;
  limits: RateLimitEnv;
}

export interface BuiltAuthorizer {
  config: TableAuthorizer;
  /** `config` as JSON: equal JSON → the same authenticator is kept. */
  json: string;
  authenticator: Authenticator;
}

export type AuthorizerSet = ReadonlyMap<string, BuiltAuthorizer>;

export const NO_AUTHORIZERS: AuthorizerSet = new Map();

export function buildAuthorizers(list: readonly TableAuthorizer[], previous: AuthorizerSet, env: PolicyEnv): AuthorizerSet {
  if (list.length === 0) return NO_AUTHORIZERS;
  return keepUnchanged(list, previous, (config, json) => ({ config, json, authenticator: createAuthenticator(config, env) }));
}

function createAuthenticator(config: TableAuthorizer, env: PolicyEnv): Authenticator {
  switch (config.type) {
    case 'jwt':
      return createJwtAuthenticator(config, { clock: env.clock, metrics: env.metrics, logger: env.logger, jwks: env.jwks });
    case 'apiKey':
      return createApiKeyAuthenticator(config, env.metrics);
    case 'external':
      return createExternalAuthenticator(config, { clock: env.clock, metrics: env.metrics, logger: env.logger });
  }
}

/**
 * After a swap: closes the authenticators the new set no longer holds (requests in flight on them finish first; see
 * each close()) and the JWKS caches no JWT authorizer of the new set uses.
 */
export function retireAuthorizers(previous: AuthorizerSet, next: AuthorizerSet, env: PolicyEnv): void {
  if (previous === next) return;
  for (const [id, built] of previous) if (next.get(id) !== built) built.authenticator.close();
  const sources: string[] = [];
  for (const { config } of next.values()) {
    if (config.type === 'jwt' && config.jwks.source === 'uri') sources.push(JwksCaches.keyOf(config.jwks));
  }
  env.jwks.retainOnly(sources);
}

/** A PolicyEnv with its own JWKS caches and local counters (a gateway makes one and keeps it for its life). */
export function policyEnvFor(logger: Logger, metrics: AuthMetrics, addresses: ClientAddresses, clock: Clock = Date.now, limits?: RateLimitEnv): PolicyEnv {
  return { clock, metrics, logger, addresses, jwks: new JwksCaches({ clock, metrics, logger }), limits: limits ?? rateLimitEnvFor({ clock, logger }) };
}

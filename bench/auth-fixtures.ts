// What the authorizer cases need besides the gateway: an RS256 issuer key with tokens minted from it, an API key
// hashed the way the controller compiles it, and a tiny external decision service. Built once per bench run,
// in the bench process, so no private key or raw API key ever reaches a table or a file the gateway reads.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TableApiKeyAuthorizer, TableAuthorizer, TableExternalAuthorizer, TableJwtAuthorizer, TableRouteAuth } from '../proxy/table/table-schema.ts';
import { LOOPBACK } from './ports.ts';

export const JWT_ISSUER = 'https://issuer.bench.example.com';
export const JWT_AUDIENCE = 'bench-api';
const JWT_KID = 'bench-rs256';

/**
 * Distinct tokens the uncached case rotates through. The gateway keeps 10,000 verified tokens per authorizer (LRU,
 * not configurable from the table); rotating round-robin through more than that makes every lookup miss, because a
 * token comes back only after 20,000 − 1 others, more than the cache holds, were verified since.
 */
export const ROTATING_TOKENS = 20_000;
/** The gateway's verified-token cache size (proxy/policy/jwt/jwt-authenticator.ts default), for the report. */
export const GATEWAY_TOKEN_CACHE = 10_000;

/** API keys in the authorizer's table; the measured one is in the middle. Lookup is a Map, so the count costs nothing per request. */
const API_KEYS = 1_000;

/** Seconds a minted token stays valid: far longer than any bench run, so no measured request meets an expired one. */
const TOKEN_LIFETIME_SEC = 24 * 3600;

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

export interface JwtIssuer {
  config: TableJwtAuthorizer;
  /** The token of the cache-hit case (also the preflight token of the uncached case: it is not in the rotation). */
  token: string;
  /** One token per line, ROTATING_TOKENS of them, for the wrk script of the uncached case. */
  tokensFile: string;
  tokenCount: number;
  /** Wall time spent minting the rotating tokens. */
  mintMs: number;
}

function signingInput(sub: string, nowSec: number): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: JWT_KID }));
  // The usual claims of an access token: issuer, audience, subject, issue and expiry times, a token id and scopes.
  const payload = b64url(
    JSON.stringify({ iss: JWT_ISSUER, aud: JWT_AUDIENCE, sub, iat: nowSec, exp: nowSec + TOKEN_LIFETIME_SEC, jti: sub, scope: 'orders:read orders:write' }),
  );
  return `${header}.${payload}`;
}

function signAsync(input: string, key: KeyObject): Promise<string> {
  return new Promise((resolve, reject) => {
    // With a callback node:crypto signs on the libuv thread pool, so minting uses every core.
    sign('sha256', Buffer.from(input), key, (err, signature) => (err ? reject(err) : resolve(`${input}.${signature.toString('base64url')}`)));
  });
}

/** An RSA-2048 issuer (RS256), its public key inline in the authorizer, one token to repeat and `count` distinct ones to rotate. */
export async function createJwtIssuer(dir: string, count: number): Promise<JwtIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const config: TableJwtAuthorizer = {
    id: 'bench/jwt',
    type: 'jwt',
    issuer: JWT_ISSUER,
    audiences: [JWT_AUDIENCE],
    algorithms: ['RS256'],
    jwks: { source: 'inline', keys: [{ kty: 'RSA', kid: JWT_KID, use: 'sig', alg: 'RS256', n: jwk.n as string, e: jwk.e as string }] },
    token: { from: 'header', name: 'authorization', prefix: 'Bearer ' },
    // The Authorizer CRD's defaults: clockSkew 30s, consumerHeader x-consumer.
    clockSkewMs: 30_000,
    consumerHeader: 'x-consumer',
    claimsToHeaders: [],
  };
  const nowSec = Math.floor(Date.now() / 1000);
  // Fixed-width subjects: every token has the same length as the repeated one.
  const subject = (i: number): string => `bench-user-${String(i).padStart(6, '0')}`;
  const token = await signAsync(signingInput('bench-user-repeat', nowSec), privateKey);
  const started = performance.now();
  const tokens: string[] = [];
  const BATCH = 512;
  for (let i = 0; i < count; i += BATCH) {
    const batch: Promise<string>[] = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) batch.push(signAsync(signingInput(subject(j), nowSec), privateKey));
    tokens.push(...(await Promise.all(batch)));
  }
  const mintMs = performance.now() - started;
  const tokensFile = join(dir, 'jwt-tokens.txt');
  writeFileSync(tokensFile, `${tokens.join('\n')}\n`);
  return { config, token, tokensFile, tokenCount: tokens.length, mintMs };
}

export interface ApiKeyFixture {
  config: TableApiKeyAuthorizer;
  /** The key the measured requests send (x-api-key). */
  key: string;
}

/** API_KEYS random keys hashed as controller/compile/authorizer-compiler.ts does: sha256(salt bytes ‖ key) hex. */
export function createApiKeys(): ApiKeyFixture {
  const salt = randomBytes(16).toString('hex');
  const saltBytes = Buffer.from(salt, 'hex');
  const keys: TableApiKeyAuthorizer['keys'] = [];
  let measured = '';
  for (let i = 0; i < API_KEYS; i++) {
    const key = randomBytes(24).toString('base64url');
    if (i === API_KEYS / 2) measured = key;
    keys.push({ hash: createHash('sha256').update(saltBytes).update(key, 'utf8').digest('hex'), consumer: `consumer-${i}`, plan: i % 2 === 0 ? 'gold' : 'free' });
  }
  keys.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const config: TableApiKeyAuthorizer = { id: 'bench/api-key', type: 'apiKey', key: { from: 'header', name: 'x-api-key', prefix: '' }, consumerHeader: 'x-consumer', salt, keys };
  return { config, key: measured };
}

/** The allow every decision request gets; its ttl (seconds, the maximum the gateway honours) keeps it cached for the run. */
export const DECISION_ANSWER = JSON.stringify({ allow: true, consumer: 'bench', ttl: 3600 });
/** The opaque credential the external case sends; the decision service never looks at it. */
export const EXTERNAL_CREDENTIAL = 'Bearer opaque-bench-session-token-0123456789abcdef';

export interface DecisionService {
  config: TableExternalAuthorizer;
  /** Decision requests answered so far. */
  calls: () => number;
  close: () => Promise<void>;
}

/**
 * The external authorizer's service: node:http in the bench process (not on the proxy's core), answering every POST
 * with DECISION_ANSWER. On the cache-hit path the gateway asks it about once per run.
 */
export async function startDecisionService(): Promise<DecisionService> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(DECISION_ANSWER) }).end(DECISION_ANSWER);
    });
  });
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const config: TableExternalAuthorizer = {
    id: 'bench/external',
    type: 'external',
    url: `http://${LOOPBACK}:${port}/decide`,
    identitySources: [{ from: 'header', name: 'authorization', prefix: '' }],
    contextHeaders: [],
    consumerHeader: 'x-consumer',
    // The Authorizer CRD's defaults: resultTtl 60s (the answer's ttl overrides it), timeout 1s; deny when unavailable.
    resultTtlMs: 60_000,
    timeoutMs: 1_000,
    failureMode: 'deny',
  };
  return {
    config,
    calls: () => calls,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A route's use of an authorizer with no extra requirements (no scopes, no claim values). */
export function routeAuth(authorizer: TableAuthorizer): TableRouteAuth {
  return { authorizer: authorizer.id, scopes: [], claims: [] };
}

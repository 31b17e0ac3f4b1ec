// Shared parts of the JWT authorizer tests: key pairs and tokens minted with jose, a table entry, a request
// context, recording metrics and logger, and a real JWKS server on loopback.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { pino, type Logger } from 'pino';
import type { AuthMetrics, AuthResult, PolicyContext } from '../../proxy/policy/policy-types.ts';
import type { JwtAlgorithm, TableJwtAuthorizer } from '../../proxy/table/table-schema.ts';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'gatehouse-api';

export interface TestKey {
  alg: JwtAlgorithm;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as an issuer publishes it. */
  jwk: JWK;
}

export async function testKey(alg: JwtAlgorithm, kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, jwk };
}

export interface MintOptions {
  /** Seconds from now; null for no exp. */
  expiresIn?: number | null;
  notBefore?: number;
  issuedAt?: number;
  kid?: string | null;
}

/** A token the issuer would sign: iss, aud, sub, iat and exp (5 min) unless overridden. */
export function mint(key: TestKey, claims: JWTPayload = {}, options: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const body: JWTPayload = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: options.issuedAt ?? now, ...claims };
  const expiresIn = options.expiresIn === undefined ? 300 : options.expiresIn;
  if (expiresIn !== null) body.exp = now + expiresIn;
  if (options.notBefore !== undefined) body.nbf = options.notBefore;
  const kid = options.kid === undefined ? key.kid : options.kid;
  return new SignJWT(body).setProtectedHeader(kid === null ? { alg: key.alg } : { alg: key.alg, kid }).sign(key.privateKey);
}

export function jwtConfig(overrides: Partial<TableJwtAuthorizer> = {}): TableJwtAuthorizer {
  return {
    id: 'shop/jwt',
    type: 'jwt',
    issuer: ISSUER,
    audiences: ['other', AUDIENCE],
    algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    jwks: { source: 'inline', keys: [] },
    token: { from: 'header', name: 'authorization', prefix: 'Bearer ' },
    clockSkewMs: 0,
    consumerHeader: 'x-consumer',
    claimsToHeaders: [],
    ...overrides,
  };
}

export function context(headers: IncomingHttpHeaders, query = ''): PolicyContext {
  return {
    req: { headers } as IncomingMessage,
    routeId: 'shop/api/r0/m0',
    requestId: 'req-1',
    method: 'GET',
    path: '/orders',
    query,
    host: 'shop.test',
    clientIp: '127.0.0.1',
    consumer: null,
    upstreamHeaders: null,
    responseHeaders: null,
  };
}

export const bearer = (token: string): PolicyContext => context({ authorization: `Bearer ${token}` });

export interface RecordedMetrics extends AuthMetrics {
  decisions: Array<[string, string, string]>;
  fetches: string[];
  lookups: Array<[string, boolean]>;
}

export function recordingMetrics(): RecordedMetrics {
  const m: RecordedMetrics = {
    decisions: [],
    fetches: [],
    lookups: [],
    decision: (authorizer, result, reason) => void m.decisions.push([authorizer, result, reason]),
    jwksFetch: (result) => void m.fetches.push(result),
    cacheLookup: (cache, hit) => void m.lookups.push([cache, hit]),
  };
  return m;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function recordingLogger(): { logger: Logger; lines: LogLine[]; text: () => string } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void (raw.push(s), lines.push(JSON.parse(s) as LogLine)) });
  return { logger, lines, text: () => raw.join('') };
}

export interface JwksServer {
  uri: string;
  /** JWKS requests served so far. */
  fetches: number;
  /** What the next requests get. */
  serve(body: unknown, headers?: Record<string, string>, status?: number): void;
  /** Stops listening and drops connections: later fetches fail to connect. */
  close(): Promise<void>;
}

/** A JWKS endpoint on 127.0.0.1 (port 0), closed by the caller's `after`. */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let response = { status: 200, body: JSON.stringify({ keys }), headers: {} as Record<string, string> };
  let closed = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.fetches++;
    res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers });
    res.end(response.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const state: JwksServer = {
    uri: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    fetches: 0,
    serve(body, headers = {}, status = 200) {
      response = { status, body: typeof body === 'string' ? body : JSON.stringify(body), headers };
    },
    async close() {
      if (closed) return;
      closed = true;
      const done = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await done;
    },
  };
  return state;
}

/** Waits (without sleeping a fixed time) until `condition` holds; fails after 5 s of real time. */
export async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The result of authenticate, awaited when it is a promise. */
export async function settle(result: AuthResult | Promise<AuthResult>): Promise<AuthResult> {
  return result;
}

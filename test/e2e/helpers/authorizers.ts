// Authorizer table entries, a real external decision service and a /metrics reader for the end-to-end authorizer tests.
import { createHash, randomBytes } from 'node:crypto';
import type {
  TableApiKeyAuthorizer,
  TableCredentialSource,
  TableExternalAuthorizer,
  TableJwtAuthorizer,
  TableRouteAuth,
} from '../../../proxy/table/table-schema.ts';
import { AUDIENCE, ISSUER } from '../../policy/jwt-fixtures.ts';
import { startUpstream, type Upstream } from './upstreams.ts';

/** A route's use of an authorizer. */
export function auth(authorizer: string, scopes: string[] = [], claims: Array<[string, string]> = []): TableRouteAuth {
  return { authorizer, scopes, claims };
}

/** A JWT authorizer whose keys come from `jwksUri` (issuer and audience of test/policy/jwt-fixtures.ts). */
export function jwtAuthorizer(id: string, jwksUri: string, overrides: Partial<TableJwtAuthorizer> = {}): TableJwtAuthorizer {
  return {
    id,
    type: 'jwt',
    issuer: ISSUER,
    audiences: [AUDIENCE],
    algorithms: ['RS256'],
    jwks: { source: 'uri', uri: jwksUri, cacheMs: 600_000 },
    token: { from: 'header', name: 'authorization', prefix: 'Bearer ' },
    clockSkewMs: 0,
    consumerHeader: 'x-consumer',
    claimsToHeaders: [],
    ...overrides,
  };
}

/** A fresh random salt, as hex (16 bytes). */
export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

/** What the controller puts in the table for a key: sha256(salt bytes ‖ key utf8), hex. */
export function keyHash(salt: string, key: string): string {
  return createHash('sha256').update(Buffer.from(salt, 'hex')).update(key, 'utf8').digest('hex');
}

export interface TestApiKey {
  key: string;
  consumer: string;
  plan?: string;
}

export function apiKeyAuthorizer(id: string, salt: string, keys: TestApiKey[], source: TableCredentialSource = { from: 'header', name: 'x-api-key', prefix: '' }): TableApiKeyAuthorizer {
  return {
    id,
    type: 'apiKey',
    key: source,
    consumerHeader: 'x-consumer',
    salt,
    keys: keys
      .map((k) => ({ hash: keyHash(salt, k.key), consumer: k.consumer, ...(k.plan !== undefined && { plan: k.plan }) }))
      .sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0)),
  };
}

export function externalAuthorizer(id: string, url: string, overrides: Partial<TableExternalAuthorizer> = {}): TableExternalAuthorizer {
  return {
    id,
    type: 'external',
    url,
    identitySources: [{ from: 'header', name: 'x-token', prefix: '' }],
    contextHeaders: [],
    consumerHeader: 'x-consumer',
    resultTtlMs: 60_000,
    timeoutMs: 1_000,
    failureMode: 'deny',
    ...overrides,
  };
}

/** One decision request the service received: the JSON body the gateway POSTed. */
export interface DecisionCall {
  identity: Record<string, string>;
  request: { method: string; path: string; host: string; routeId: string; clientIp: string; requestId: string; query?: string };
}

export interface DecisionService extends Upstream {
  url: string;
  calls: DecisionCall[];
}

/** A real decision service on loopback: `decide` answers each call with a status and an optional JSON body. */
export async function startDecisionService(decide: (call: DecisionCall) => { status: number; body?: unknown }): Promise<DecisionService> {
  const calls: DecisionCall[] = [];
  const upstream = await startUpstream('decisions', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as DecisionCall;
      calls.push(call);
      const answer = decide(call);
      const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  return Object.assign(upstream, { url: `http://127.0.0.1:${upstream.port}/check`, calls });
}

/** The value of one sample of the admin port's /metrics (0 when the sample is absent). */
export async function metricValue(adminPort: number, name: string, labels: Record<string, string>): Promise<number> {
  return sampleOf(await scrapeMetrics(adminPort), name, labels);
}

export async function scrapeMetrics(adminPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** The sample of `name` whose labels include every one of `labels`, from Prometheus text; 0 when there is none. */
export function sampleOf(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const found: Record<string, string> = {};
    for (const m of line.slice(name.length + 1, close).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[m[1] as string] = m[2] as string;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(close + 1).trim());
  }
  return 0;
}

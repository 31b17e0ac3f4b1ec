// One request through a proxy before measuring it: a proxy that answers 404 or the wrong body
// would otherwise "win" the benchmark. For a route behind an Authorizer, also one request without
// the credential, which must be refused with 401: a route served open would win it too. For a route
// naming a RatePolicy, the answer must carry its RateLimit fields (the limit is enforced); for the
// exhausted limit of the pre-check case, the requests after that first one must be refused 429. A TLS case is asked
// over https, trusting the bench's certificate, over HTTP/2 when that is what it is measured with.
import { Agent, request, type Dispatcher } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK } from './ports.ts';
import { UPSTREAM_BODY } from './nginx.ts';

export interface PreflightOptions {
  /** Sent with the request (a credential). */
  headers?: Record<string, string>;
  /** The route is behind an Authorizer: without `headers` it must answer 401. */
  refusedWithout?: boolean;
  /** The route names a RatePolicy: the 200 must carry RateLimit-Policy and RateLimit. */
  rateLimited?: boolean;
  /** The limit admits one request: after the 200, two more must be refused 429 with Retry-After. */
  exhausted?: boolean;
  timeoutMs?: number;
  /** Over TLS: the certificate to trust, and whether to offer (only) HTTP/2 by ALPN. */
  tls?: { ca: Buffer; h2: boolean };
  /** The body the answer must carry (default: the upstream's usual one). */
  body?: string;
  /** true: the route caches; the next request must be an X-Cache: HIT. false: it must not carry X-Cache. */
  cacheHits?: boolean;
  /** POST this JSON body (the validation cases) instead of a GET. */
  jsonBody?: string;
  /** The route validates bodies: after the 200, an empty object must be refused 400 (the schema is enforced). */
  validated?: boolean;
}

export async function preflight(name: string, port: number, host: string, path: string, options: PreflightOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const tls = options.tls;
  const url = `${tls === undefined ? 'http' : 'https'}://${LOOPBACK}:${port}${path}`;
  const dispatcher: Dispatcher | undefined = tls === undefined ? undefined : new Agent({ connect: { ca: tls.ca, servername: host }, allowH2: tls.h2 });
  try {
    let last = '';
    while (Date.now() < deadline) {
      try {
        const post = options.jsonBody === undefined ? {} : { method: 'POST' as const, body: options.jsonBody, headers: { host, 'content-type': 'application/json', ...options.headers } };
        const res = await request(url, { headers: { host, ...options.headers }, ...post, ...(dispatcher === undefined ? {} : { dispatcher }) });
        const body = await res.body.text();
        if (res.statusCode === 200 && body === (options.body ?? UPSTREAM_BODY)) {
          if (options.cacheHits !== undefined) await expectCache(name, url, host, options.cacheHits);
          if (options.rateLimited === true) expectRateLimitFields(name, res.headers);
          if (options.refusedWithout === true) await expectRefusal(name, url, host);
          if (options.validated === true) await expectInvalid(name, url, host);
          // The first refusal comes from Redis, the second from the refusal the proxy remembered.
          if (options.exhausted === true) for (let i = 0; i < 2; i++) await expectLimited(name, url, host, options.headers);
          return;
        }
        last = `status ${res.statusCode}, body ${JSON.stringify(body.slice(0, 200))}`;
      } catch (err) {
        last = String(err);
      }
      await sleep(100);
    }
    throw new Error(`${name} did not proxy ${host}${path} to the upstream: ${last}`);
  } finally {
    await dispatcher?.close();
  }
}

async function expectRefusal(name: string, url: string, host: string): Promise<void> {
  const res = await request(url, { headers: { host } });
  const body = await res.body.text();
  if (res.statusCode !== 401) throw new Error(`${name} answered ${res.statusCode} without credentials, expected 401 (is the Authorizer enforced?): ${JSON.stringify(body.slice(0, 200))}`);
}

type Headers = Record<string, string | string[] | undefined>;

function expectRateLimitFields(name: string, headers: Headers): void {
  for (const field of ['ratelimit-policy', 'ratelimit']) {
    if (headers[field] === undefined) throw new Error(`${name} answered without ${field} (is the RatePolicy enforced?): ${JSON.stringify(headers)}`);
  }
}

async function expectLimited(name: string, url: string, host: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await request(url, { headers: { host, ...headers } });
  const body = await res.body.text();
  if (res.statusCode !== 429 || res.headers['retry-after'] === undefined) {
    throw new Error(`${name} answered ${res.statusCode} after its one token was spent, expected 429 with Retry-After: ${JSON.stringify(body.slice(0, 200))}`);
  }
  expectRateLimitFields(name, res.headers);
}

async function expectCache(name: string, url: string, host: string, hits: boolean): Promise<void> {
  const res = await request(url, { headers: { host } });
  await res.body.dump();
  const xCache = res.headers['x-cache'];
  if (hits && xCache !== 'HIT') throw new Error(`${name}: the request after the first was not a cache hit (X-Cache ${String(xCache)})`);
  if (!hits && xCache !== undefined) throw new Error(`${name}: a route without a cache answered X-Cache ${String(xCache)}`);
}

async function expectInvalid(name: string, url: string, host: string): Promise<void> {
  const res = await request(url, { method: 'POST', headers: { host, 'content-type': 'application/json' }, body: '{}' });
  const body = await res.body.text();
  if (res.statusCode !== 400) throw new Error(`${name} answered ${res.statusCode} to an invalid body, expected 400 (is the schema enforced?): ${JSON.stringify(body.slice(0, 200))}`);
}

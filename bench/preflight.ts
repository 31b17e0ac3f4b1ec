// One request through a proxy before measuring it: a proxy that answers 404 or the wrong body
// would otherwise "win" the benchmark. For a route behind an Authorizer, also one request without
// the credential, which must be refused with 401: a route served open would win it too.
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK } from './ports.ts';
import { UPSTREAM_BODY } from './nginx.ts';

export interface PreflightOptions {
  /** Sent with the request (a credential). */
  headers?: Record<string, string>;
  /** The route is behind an Authorizer: without `headers` it must answer 401. */
  refusedWithout?: boolean;
  timeoutMs?: number;
}

export async function preflight(name: string, port: number, host: string, path: string, options: PreflightOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const url = `http://${LOOPBACK}:${port}${path}`;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await request(url, { headers: { host, ...options.headers } });
      const body = await res.body.text();
      if (res.statusCode === 200 && body === UPSTREAM_BODY) {
        if (options.refusedWithout === true) await expectRefusal(name, url, host);
        return;
      }
      last = `status ${res.statusCode}, body ${JSON.stringify(body.slice(0, 200))}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`${name} did not proxy ${host}${path} to the upstream: ${last}`);
}

async function expectRefusal(name: string, url: string, host: string): Promise<void> {
  const res = await request(url, { headers: { host } });
  const body = await res.body.text();
  if (res.statusCode !== 401) throw new Error(`${name} answered ${res.statusCode} without credentials, expected 401 (is the Authorizer enforced?): ${JSON.stringify(body.slice(0, 200))}`);
}

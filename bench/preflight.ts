// One request through a proxy before measuring it: a proxy that answers 404 or the wrong body
// would otherwise "win" the benchmark.
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK } from './ports.ts';
import { UPSTREAM_BODY } from './nginx.ts';

export async function preflight(name: string, port: number, host: string, path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await request(`http://${LOOPBACK}:${port}${path}`, { headers: { host } });
      const body = await res.body.text();
      if (res.statusCode === 200 && body === UPSTREAM_BODY) return;
      last = `status ${res.statusCode}, body ${JSON.stringify(body.slice(0, 200))}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`${name} did not proxy ${host}${path} to the upstream: ${last}`);
}

// A scrape reads only the routes that have numbers: each tally reports its first use once, whichever number came
// first, and GatewayMetrics exports the same series as before for them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayMetrics } from '../../proxy/server/gateway-metrics.ts';
import { RouteTally } from '../../proxy/server/route-tally.ts';

test('a tally reports its first use once, from any of its numbers', () => {
  for (const first of ['request', 'upstream', 'error'] as const) {
    const seen: RouteTally[] = [];
    const tally = new RouteTally('ns/r/r0/m0', (t) => seen.push(t));
    assert.equal(seen.length, 0);
    if (first === 'request') tally.requestDone('GET', 200, 0.001);
    else if (first === 'upstream') tally.upstreamResponded(0.002);
    else tally.upstreamFailed('connect_refused');
    tally.requestDone('POST', 503, 0.001);
    tally.upstreamResponded(0.002);
    tally.upstreamFailed('reset');
    assert.deepEqual(seen, [tally], `first use by ${first}`);
  }
});

test('a scrape exports the used routes of many and skips the rest', async () => {
  const metrics = new GatewayMetrics();
  for (let i = 0; i < 1000; i++) metrics.forRoute(`ns/api-${i}/r0/m0`);
  metrics.forRoute('ns/api-7/r0/m0').requestDone('GET', 200, 0.0002);
  metrics.forRoute('ns/api-900/r0/m0').upstreamFailed('connect_refused');
  metrics.forRoute('ns/api-7/r0/m0').requestDone('GET', 404, 0.0002);
  const text = await metrics.registry.metrics();
  const routes = new Set([...text.matchAll(/route="([^"]+)"/g)].map((m) => m[1]));
  assert.deepEqual([...routes].sort(), ['ns/api-7/r0/m0', 'ns/api-900/r0/m0']);
  assert.match(text, /gatehouse_requests_total\{route="ns\/api-7\/r0\/m0",method="GET",status_class="2xx"\} 1/);
  assert.match(text, /gatehouse_requests_total\{route="ns\/api-7\/r0\/m0",method="GET",status_class="4xx"\} 1/);
  assert.match(text, /gatehouse_upstream_errors_total\{route="ns\/api-900\/r0\/m0",kind="connect_refused"\} 1/);
  assert.match(text, /gatehouse_added_latency_seconds_count\{route="ns\/api-7\/r0\/m0"\} 2/);
});

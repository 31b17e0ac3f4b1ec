// A connection dropped in the middle of a multi-part table: a TCP relay between proxy and controller cuts the
// connection after the first part and half of the second went through (mid-frame). The proxy keeps serving its old
// table, never applies the half-received one, reconnects and resyncs to the current version.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { FleetTracker } from '../../controller/distribute/fleet-tracker.ts';
import { SnapshotStream } from '../../controller/distribute/snapshot-stream.ts';
import { StreamToken } from '../../controller/distribute/stream-token.ts';
import { encodeTable } from '../../controller/distribute/table-encoding.ts';
import { ControllerSubscription } from '../../proxy/subscribe/controller-subscription.ts';
import { ReconnectBackoff } from '../../proxy/subscribe/reconnect-backoff.ts';

import { startTestGateway } from '../e2e/helpers/gateway.ts';
import { send } from '../e2e/helpers/http-client.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';
import { startEcho } from '../e2e/helpers/upstreams.ts';
import { eventually } from '../support/wait-for.ts';

const TOKEN = 'test-token-0123456789abcdef';
const quiet = pino({ level: 'silent' });

/** Forwards TCP both ways; once armed, destroys the connections after `bytes` more controller → proxy bytes. */
async function startCuttingRelay(t: TestContext, upstreamPort: number): Promise<{ port: number; arm(bytes: number): Promise<void> }> {
  const pairs = new Set<{ client: Socket; upstream: Socket; budget: number | null }>();
  let armed: { bytes: number; done: () => void } | null = null;
  const server = createServer((client) => {
    const upstream = createConnection(upstreamPort, '127.0.0.1');
    const pair = { client, upstream, budget: null as number | null };
    pairs.add(pair);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (armed !== null && pair.budget === null) pair.budget = armed.bytes;
      if (pair.budget !== null) {
        if (chunk.length >= pair.budget) {
          client.write(chunk.subarray(0, pair.budget), () => {
            client.destroy();
            upstream.destroy();
            const done = armed?.done;
            armed = null;
            done?.();
          });
          pair.budget = 0;
          return;
        }
        pair.budget -= chunk.length;
      }
      client.write(chunk);
    });
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const p of pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    server.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    arm: (bytes) => new Promise<void>((resolve) => (armed = { bytes, done: resolve })),
  };
}

test('a connection cut in the middle of a multi-part table: the old table keeps serving, then the proxy resyncs', async (t) => {
  const a = await startEcho('a');
  t.after(() => a.close());
  const fleet = new FleetTracker();
  const stream = new SnapshotStream({ port: 0, host: '127.0.0.1', token: StreamToken.fromValue(TOKEN), fleet, logger: quiet });
  const streamPort = await stream.listen();
  t.after(() => stream.close());
  const relay = await startCuttingRelay(t, streamPort);

  stream.publish(table([route('old', '/old', ['be'])], [backend('be', [a.port])], 'old'));
  await stream.idle();
  const gateway = await startTestGateway(t, undefined);
  const subscription = new ControllerSubscription({ url: `ws://127.0.0.1:${relay.port}`, credentials: async () => ({ token: TOKEN }), name: 'p', gateway, logger: quiet, backoff: new ReconnectBackoff(200, 500) });
  subscription.start();
  t.after(() => subscription.close());
  await eventually(async () => gateway.version() === 'old', 'serves the old table');

  // 1,500 routes with nothing in common with "old" but the backend: three parts, and no delta (too many routes).
  const big = table(Array.from({ length: 1500 }, (_, i) => route(`n${i}`, `/n${i}`, ['be'])), [backend('be', [a.port])], 'big');
  const parts = (await encodeTable(big)).parts;
  assert.ok(parts.length >= 3);
  const cut = relay.arm(parts[0]!.length + Math.floor(parts[1]!.length / 2));
  stream.publish(big);
  await cut;
  // Cut mid-frame: nothing of the big table is applied; the old one still serves.
  assert.equal(gateway.version(), 'old');
  assert.equal((await send(gateway.port, '/old')).status, 200);
  assert.equal((await send(gateway.port, '/n1499')).status, 404);

  await eventually(async () => gateway.version() === 'big', 'resynced to the big table after reconnecting', 15_000);
  assert.ok(subscription.connects >= 2);
  assert.equal((await send(gateway.port, '/n1499')).status, 200);
  assert.equal((await send(gateway.port, '/old')).status, 404);
  await eventually(async () => fleet.list()[0]?.version === 'big', 'the controller sees the ACK of big');
  const full = (await gateway.metrics.registry.getSingleMetric('gatehouse_table_updates_total')!.get()).values.find((v) => v.labels.kind === 'full')?.value;
  assert.equal(full, 2); // the old table and the big one once: never a partial one
});

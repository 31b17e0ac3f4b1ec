// An in-process controller stream and proxies subscribed to it, for the fleet tests.
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { FleetTracker } from '../../controller/distribute/fleet-tracker.ts';
import { SnapshotStream } from '../../controller/distribute/snapshot-stream.ts';
import { StreamToken } from '../../controller/distribute/stream-token.ts';
import { ControllerSubscription } from '../../proxy/subscribe/controller-subscription.ts';
import { ReconnectBackoff } from '../../proxy/subscribe/reconnect-backoff.ts';
import { TableFile } from '../../proxy/subscribe/table-file.ts';
import { startTestGateway, type Gateway } from '../e2e/helpers/gateway.ts';

export const TOKEN = 'test-token-0123456789abcdef';
export const quiet = pino({ level: 'silent' });

export async function startStream(t: TestContext): Promise<{ stream: SnapshotStream; fleet: FleetTracker; url: string }> {
  const fleet = new FleetTracker();
  const stream = new SnapshotStream({ port: 0, host: '127.0.0.1', token: StreamToken.fromValue(TOKEN), fleet, logger: quiet });
  const port = await stream.listen();
  t.after(() => stream.close());
  return { stream, fleet, url: `ws://127.0.0.1:${port}` };
}

/** A test gateway subscribed to `url`; closed (and its table file flushed) when the test ends. */
export async function startProxy(
  t: TestContext,
  url: string,
  name: string,
  opts: { maxRoutes?: number; tableFile?: string } = {},
): Promise<{ gateway: Gateway; subscription: ControllerSubscription }> {
  const gateway = await startTestGateway(t, undefined, opts.maxRoutes === undefined ? {} : { maxRoutes: opts.maxRoutes });
  const tableFile = opts.tableFile === undefined ? undefined : new TableFile(opts.tableFile, { onError: () => {} });
  const subscription = new ControllerSubscription({ url, credentials: async () => ({ token: TOKEN }), name, gateway, logger: quiet, backoff: new ReconnectBackoff(50, 500), ...(tableFile && { tableFile }) });
  subscription.start();
  t.after(async () => {
    await subscription.close();
    await tableFile?.close();
  });
  return { gateway, subscription };
}

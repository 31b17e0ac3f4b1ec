// `gatehouse proxy`: one proxy of the fleet. It serves the table from its file at once (if it has one), then
// subscribes to the controller for the current table and every change after it.
import { hostname } from 'node:os';
import { PROXY } from './command-flags.ts';
import { parseCommandLine } from './flag-definitions.ts';
import { otlpOptions } from './otlp-flags.ts';
import { redisOptions } from './redis-flags.ts';
import { cacheOptions } from './cache-flags.ts';
import { tlsOptions } from './tls-flags.ts';
import { packageVersion } from '../package-version.ts';
import { pino, type Logger } from 'pino';
import { gracefulShutdown, trafficSteps } from '../../proxy/server/graceful-shutdown.ts';
import { startGateway, type Gateway } from '../../proxy/server/start-gateway.ts';
import { exitOnShutdownSignals } from './shutdown-signals.ts';
import { ControllerSubscription } from '../../proxy/subscribe/controller-subscription.ts';
import { CredentialFiles } from '../../proxy/subscribe/stream-credentials.ts';
import { loadTableFile, TableFile } from '../../proxy/subscribe/table-file.ts';
import { ApplyStallWindow } from '../../proxy/subscribe/apply-stall-window.ts';
import { logLevel } from './log-level.ts';
import { clientTimeouts } from './client-timeout-flags.ts';
import { ensureProxyHeapFlags } from './controller-heap-flags.ts';
import { warmUpTableCode } from '../../proxy/table/table-warm-up.ts';

export async function proxyCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine(PROXY, args);
  if (parsed === undefined) return 2;
  ensureProxyHeapFlags();
  const { flags } = parsed;
  const level = logLevel(flags['log-level']);
  if (typeof level === 'object') {
    process.stderr.write(`gatehouse proxy: ${level.error}\n`);
    return 2;
  }
  const logger = pino({ level });
  const credentials = await CredentialFiles.open(flags['token-file'], flags['ca-file'], logger);
  if (typeof credentials === 'string') {
    process.stderr.write(`gatehouse proxy: ${credentials}\n`);
    return 2;
  }
  const name = flags.name ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const redis = await redisOptions(flags);
  if (typeof redis === 'string') {
    process.stderr.write(`gatehouse proxy: ${redis}\n`);
    return 2;
  }
  const tracing = await otlpOptions(flags, { version: packageVersion(), instance: name });
  if (typeof tracing === 'string') {
    process.stderr.write(`gatehouse proxy: ${tracing}\n`);
    return 2;
  }

  warmUpTableCode();
  const gateway = await startGateway({
    port: flags.port,
    host: flags.host,
    adminPort: flags['admin-port'],
    ...(flags['admin-host'] && { adminHost: flags['admin-host'] }),
    ...(flags['max-routes'] && { maxRoutes: flags['max-routes'] }),
    trustedProxies: flags['trusted-proxies'] ?? [],
    clientTimeouts: clientTimeouts(flags),
    accessLog: { sample: flags['access-log-sample'] },
    ...tracing,
    websocketDrainMs: flags['websocket-drain'],
    ...redis,
    ...cacheOptions(flags),
    ...tlsOptions(flags),
    logger,
  });

  const tablePath = flags['table-file'];
  let tableFile: TableFile | undefined;
  if (tablePath) {
    tableFile = new TableFile(tablePath, { onError: (err) => logger.error({ err, path: tablePath }, 'writing the table file failed') });
    // Loading at start is a whole-table apply like a resync: its longest stall is reported the same way.
    const stall = new ApplyStallWindow((seconds, cpuSeconds, whole) => gateway.metrics.applyStalled(seconds, cpuSeconds, whole));
    stall.begin();
    const loading = serveTableFile(tablePath, tableFile, gateway, logger, stall);
    stall.end(loading);
    await loading;
  }

  const subscription = new ControllerSubscription({ url: flags.controller, credentials: () => credentials.current(), name, gateway, logger, ...(tableFile && { tableFile }) });
  subscription.start();
  logger.info({ port: gateway.port, httpsPort: gateway.httpsPort, adminPort: gateway.adminPort, name, controller: flags.controller, serving: gateway.version() ?? null }, 'gatehouse proxy started');

  const timing = { delayMs: flags['shutdown-delay'], timeoutMs: flags['shutdown-timeout'] };
  exitOnShutdownSignals(logger, async (signal) => {
    // The subscription stays open through the delay and the drain: tables still apply to the requests served.
    const release = async (): Promise<void> => {
      await subscription.close();
      await tableFile?.close();
      await gateway.close();
    };
    await gracefulShutdown({ ...trafficSteps(gateway), release }, timing, `shutting down (${signal})`, logger);
  });
  return -1; // keep running
}

/** The table --table-file holds, served before the controller answers; the file's writer carries on after it. */
async function serveTableFile(path: string, tableFile: TableFile, gateway: Gateway, logger: Logger, stall: ApplyStallWindow): Promise<void> {
  const loaded = await loadTableFile(path);
  if (loaded.ok) {
    stall.markWhole();
    const { applied, skipped, stopped } = loaded.replay;
    if (stopped !== undefined) logger.warn({ path, version: loaded.table.version, applied, stopped }, 'table file journal read up to its last good record');
    const result = await gateway.applyTableSliced(loaded.table);
    if (result.ok) logger.info({ path, version: result.version, journalRecords: applied, skipped }, 'serving the table from the table file');
    await tableFile.resume(loaded);
  } else if (!loaded.missing) {
    logger.warn({ path, error: loaded.error }, 'table file not used');
  }
}

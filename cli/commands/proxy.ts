// `gatehouse proxy`: one proxy of the fleet. It serves the table from its file at once (if it has one), then
// subscribes to the controller for the current table and every change after it.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { validateFlags } from './command-flags.ts';
import { TRUSTED_PROXIES_USAGE, trustedProxiesFlag } from './trusted-proxies-flag.ts';
import { REDIS_PARSE_OPTIONS, REDIS_USAGE, redisFlagsShape, redisOptions } from './redis-flags.ts';
import { pino } from 'pino';
import { z } from 'zod';
import { startGateway } from '../../proxy/server/start-gateway.ts';
import { ControllerSubscription } from '../../proxy/subscribe/controller-subscription.ts';
import { CredentialFiles } from '../../proxy/subscribe/stream-credentials.ts';
import { readTableFile, TableFileWriter } from '../../proxy/subscribe/table-file.ts';

export const PROXY_USAGE = `  proxy --controller ws(s)://HOST:PORT --token-file FILE [--table-file PATH] [--port 8080] [--admin-port 9090]
        [--host 0.0.0.0] [--admin-host HOST] [--name NAME] [--ca-file FILE] [--max-routes N] ${TRUSTED_PROXIES_USAGE}
        ${REDIS_USAGE}
                     one proxy of the fleet: subscribes to the controller, serves its table (kept in --table-file)`;

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const flagsSchema = z.object({
  controller: z.url({ protocol: /^wss?$/, error: 'must be a ws:// or wss:// URL' }),
  'token-file': z.string().min(1),
  'table-file': z.string().min(1).optional(),
  port: port(8080),
  'admin-port': port(9090),
  host: z.string().default('0.0.0.0'),
  'admin-host': z.string().optional(),
  name: z.string().min(1).max(253).optional(),
  'ca-file': z.string().min(1).optional(),
  'max-routes': z.coerce.number().int().positive().optional(),
  'trusted-proxies': trustedProxiesFlag,
  'log-level': z.string().optional(),
  ...redisFlagsShape,
});

export async function proxyCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      controller: { type: 'string' },
      'token-file': { type: 'string' },
      'table-file': { type: 'string' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      host: { type: 'string' },
      'admin-host': { type: 'string' },
      name: { type: 'string' },
      'ca-file': { type: 'string' },
      'max-routes': { type: 'string' },
      'trusted-proxies': { type: 'string' },
      'log-level': { type: 'string' },
      ...REDIS_PARSE_OPTIONS,
    },
  });
  const flags = validateFlags('proxy', flagsSchema, values, PROXY_USAGE);
  if (flags === undefined) return 2;
  const logger = pino({ level: flags['log-level'] ?? process.env.LOG_LEVEL ?? 'info' });
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

  const gateway = await startGateway({
    port: flags.port,
    host: flags.host,
    adminPort: flags['admin-port'],
    ...(flags['admin-host'] && { adminHost: flags['admin-host'] }),
    ...(flags['max-routes'] && { maxRoutes: flags['max-routes'] }),
    trustedProxies: flags['trusted-proxies'],
    ...redis,
    logger,
  });

  const tablePath = flags['table-file'];
  let tableFile: TableFileWriter | undefined;
  if (tablePath) {
    tableFile = new TableFileWriter(tablePath, (err) => logger.error({ err, path: tablePath }, 'writing the table file failed'));
    const loaded = await readTableFile(tablePath);
    if (loaded.ok) {
      const result = await gateway.applyTableSliced(loaded.table);
      if (result.ok) logger.info({ path: tablePath, version: result.version }, 'serving the table from the table file');
    } else if (!loaded.missing) {
      logger.warn({ path: tablePath, error: loaded.error }, 'table file not used');
    }
  }

  const subscription = new ControllerSubscription({ url: flags.controller, credentials: () => credentials.current(), name, gateway, logger, ...(tableFile && { tableFile }) });
  subscription.start();
  logger.info({ port: gateway.port, adminPort: gateway.adminPort, name, controller: flags.controller, serving: gateway.version() ?? null }, 'gatehouse proxy started');

  const stop = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'shutting down');
    await subscription.close();
    await tableFile?.idle();
    await gateway.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return -1; // keep running
}

#!/usr/bin/env node
// The one CLI: `gatehouse standalone | validate | controller | proxy | version`.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { z } from 'zod';
import { trustedProxiesFlag } from './commands/trusted-proxies-flag.ts';
import { validateFlags } from './commands/command-flags.ts';
import { REDIS_PARSE_OPTIONS, REDIS_USAGE, redisFlagsShape, redisOptions } from './commands/redis-flags.ts';

const USAGE = `usage: gatehouse <command> [options]

commands:
  standalone --config DIR [--port 8080] [--admin-port 9090] [--host 127.0.0.1] [--demo-upstream]
             [--trusted-proxies CIDR,…] ${REDIS_USAGE}
                     serve the manifests in DIR (watched, hot-reloaded) without a cluster
  validate FILE|DIR…  compile offline, print each resource's conditions, exit 1 on problems
  controller [--kubeconfig PATH] [--namespaces a,b] [--admin-port 9091] [--lease-namespace default]
             [--lease-name gatehouse-controller] [--identity NAME] [--secret-selector SEL] [--lease-duration 15s]
             [--stream-port 9443 --stream-token-file FILE [--stream-tls-cert F --stream-tls-key F]]
                     the Kubernetes controller: watch the cluster, compile, write statuses (leader only),
                     serve tables to proxies on the stream port
  proxy --controller ws(s)://HOST:PORT --token-file FILE [--table-file PATH] [--port 8080] [--admin-port 9090]
        [--name NAME] [--ca-file FILE] [--max-routes N] [--trusted-proxies CIDR,…] ${REDIS_USAGE}
                     one proxy of the fleet: subscribes to the controller, serves its table (kept in --table-file)
  version            print the version
`;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function parsePort(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} must be a port number, got ${JSON.stringify(text)}`);
  return n;
}

async function standalone(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      host: { type: 'string' },
      'demo-upstream': { type: 'boolean' },
      'trusted-proxies': { type: 'string' },
      'log-level': { type: 'string' },
      ...REDIS_PARSE_OPTIONS,
    },
  });
  if (!values.config) {
    process.stderr.write(`gatehouse standalone: --config DIR is required\n\n${USAGE}`);
    return 2;
  }
  const trusted = trustedProxiesFlag.safeParse(values['trusted-proxies']);
  if (!trusted.success) {
    process.stderr.write(`gatehouse standalone: --trusted-proxies ${trusted.error.issues[0]?.message ?? 'is invalid'}\n\n${USAGE}`);
    return 2;
  }
  const redisFlags = validateFlags('standalone', z.object(redisFlagsShape), values, USAGE);
  if (redisFlags === undefined) return 2;
  const redis = await redisOptions(redisFlags);
  if (typeof redis === 'string') {
    process.stderr.write(`gatehouse standalone: ${redis}\n`);
    return 2;
  }
  const logger = pino({ level: values['log-level'] ?? process.env.LOG_LEVEL ?? 'info' });
  const { runStandalone } = await import('./commands/standalone.ts');
  const demo = values['demo-upstream'] ? await (await import('../examples/demo-upstream.ts')).startDemoUpstreams() : undefined;
  const gw = await runStandalone({
    configDir: values.config,
    host: values.host ?? '127.0.0.1',
    port: parsePort(values.port, 8080, '--port'),
    adminPort: parsePort(values['admin-port'], 9090, '--admin-port'),
    trustedProxies: trusted.data,
    ...redis,
    logger,
  });
  logger.info({ port: gw.port, adminPort: gw.adminPort, config: values.config }, 'gatehouse standalone ready');
  const stop = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'shutting down');
    await gw.close();
    await demo?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return -1; // keep running
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Every command answers --help (exit 0) with the usage, before its own flags are parsed.
  if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'standalone':
      return standalone(rest);
    case 'validate': {
      const { validateCommand } = await import('./commands/validate.ts');
      return validateCommand(rest);
    }
    case 'controller': {
      const { controllerCommand } = await import('./commands/controller.ts');
      return controllerCommand(rest);
    }
    case 'proxy': {
      const { proxyCommand } = await import('./commands/proxy.ts');
      return proxyCommand(rest);
    }
    case 'version':
    case '--version':
      process.stdout.write(`gatehouse ${packageVersion()} (node ${process.version})\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`gatehouse: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

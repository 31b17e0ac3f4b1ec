#!/usr/bin/env node
// The one CLI: `gatehouse standalone | validate | controller | proxy | version`.
import { hostname } from 'node:os';
import { pino } from 'pino';
import { COMMANDS, STANDALONE, VERSION } from './commands/command-flags.ts';
import { commandUsage, parseCommandLine, topLevelUsage } from './commands/flag-definitions.ts';
import { otlpOptions } from './commands/otlp-flags.ts';
import { redisOptions } from './commands/redis-flags.ts';
import { cacheOptions } from './commands/cache-flags.ts';
import { tlsOptions } from './commands/tls-flags.ts';
import { logLevel } from './commands/log-level.ts';
import { clientTimeouts } from './commands/client-timeout-flags.ts';
import { exitOnShutdownSignals } from './commands/shutdown-signals.ts';
import { gracefulShutdown } from '../proxy/server/graceful-shutdown.ts';
import { packageVersion } from './package-version.ts';

const USAGE = topLevelUsage(COMMANDS);

async function standalone(args: string[]): Promise<number> {
  const parsed = parseCommandLine(STANDALONE, args);
  if (parsed === undefined) return 2;
  const { flags } = parsed;
  const redis = await redisOptions(flags);
  if (typeof redis === 'string') {
    process.stderr.write(`gatehouse standalone: ${redis}\n`);
    return 2;
  }
  const tracing = await otlpOptions(flags, { version: packageVersion(), instance: `${hostname()}-${process.pid}` });
  if (typeof tracing === 'string') {
    process.stderr.write(`gatehouse standalone: ${tracing}\n`);
    return 2;
  }
  const level = logLevel(flags['log-level']);
  if (typeof level === 'object') {
    process.stderr.write(`gatehouse standalone: ${level.error}\n`);
    return 2;
  }
  const logger = pino({ level });
  const tls = tlsOptions(flags);
  if (flags['self-signed-tls'] && (tls.https === undefined || flags['default-tls-secret'] !== undefined)) {
    process.stderr.write('gatehouse standalone: --self-signed-tls needs --https-port and replaces --default-tls-secret\n');
    return 2;
  }
  const selfSigned = flags['self-signed-tls'] ? await (await import('../proxy/tls/self-signed.ts')).selfSignedCertificate() : undefined;
  const { runStandalone } = await import('./commands/standalone.ts');
  const demo = flags['demo-upstream'] ? await (await import('../examples/demo-upstream.ts')).startDemoUpstreams() : undefined;
  const gw = await runStandalone({
    configDir: flags.config,
    host: flags.host,
    port: flags.port,
    adminPort: flags['admin-port'],
    trustedProxies: flags['trusted-proxies'] ?? [],
    clientTimeouts: clientTimeouts(flags),
    accessLog: { sample: flags['access-log-sample'] },
    ...tracing,
    websocketDrainMs: flags['websocket-drain'],
    ...redis,
    ...cacheOptions(flags),
    ...tls,
    ...(flags['default-tls-secret'] && { defaultTlsSecret: flags['default-tls-secret'] }),
    ...(selfSigned && { selfSigned }),
    logger,
  });
  logger.info({ port: gw.port, httpsPort: gw.httpsPort, adminPort: gw.adminPort, config: flags.config }, 'gatehouse standalone ready');
  const timing = { delayMs: flags['shutdown-delay'], timeoutMs: flags['shutdown-timeout'] };
  exitOnShutdownSignals(logger, async (signal) => {
    const release = async (): Promise<void> => {
      await gw.close();
      await demo?.close();
    };
    await gracefulShutdown({ ...gw.traffic, release }, timing, `shutting down (${signal})`, logger);
  });
  return -1; // keep running
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Every command answers --help (exit 0) with its usage, before its own flags are parsed.
  if (command !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    const definition = COMMANDS.find((c) => c.name === command);
    process.stdout.write(definition ? commandUsage(definition) : USAGE);
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
      if (parseCommandLine(VERSION, rest) === undefined) return 2;
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

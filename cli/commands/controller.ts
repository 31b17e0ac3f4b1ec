// `gatehouse controller`: flags → a running controller. Out of cluster it reads --kubeconfig or $KUBECONFIG
// (or ~/.kube/config); in a pod, the ServiceAccount (KubeConfig.loadFromDefault covers both).
import { hostname } from 'node:os';
import { CONTROLLER } from './command-flags.ts';
import { parseCommandLine } from './flag-definitions.ts';
import { ensureControllerHeapFlags } from './controller-heap-flags.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { runController } from '../../controller/controller-main.ts';
import { logLevel } from './log-level.ts';

export async function controllerCommand(args: string[]): Promise<number> {
  ensureControllerHeapFlags();
  const parsed = parseCommandLine(CONTROLLER, args);
  if (parsed === undefined) return 2;
  const { flags } = parsed;
  const namespaces = flags.namespaces ?? [];
  const level = logLevel(flags['log-level']);
  if (typeof level === 'object') {
    process.stderr.write(`gatehouse controller: ${level.error}\n`);
    return 2;
  }
  const logger = pino({ level });
  const kubeConfig = new KubeConfig();
  if (flags.kubeconfig) kubeConfig.loadFromFile(flags.kubeconfig);
  else kubeConfig.loadFromDefault();
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) {
    process.stderr.write('gatehouse controller: no cluster in the kubeconfig (use --kubeconfig or $KUBECONFIG, or run in a pod)\n');
    return 2;
  }
  // The identity must be unique per replica: the pod name (HOSTNAME) in cluster, host+pid elsewhere.
  const identity = flags.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const leaseDurationMs = flags['lease-duration'];
  const controller = await runController({
    kubeConfig,
    logger,
    namespaces,
    secretSelector: flags['secret-selector'],
    configMapSelector: flags['configmap-selector'],
    ...(flags['default-tls-secret'] && { defaultTlsSecret: flags['default-tls-secret'] }),
    adminHost: flags['admin-host'],
    adminPort: flags['admin-port'],
    jwksCheckIntervalMs: flags['jwks-check-interval'],
    ...(flags['stream-port'] !== undefined &&
      flags['stream-token-file'] !== undefined && {
        distribution: {
          port: flags['stream-port'],
          host: flags['stream-host'],
          tokenFile: flags['stream-token-file'],
          ...(flags['stream-tls-cert'] && { tlsCertFile: flags['stream-tls-cert'] }),
          ...(flags['stream-tls-key'] && { tlsKeyFile: flags['stream-tls-key'] }),
          ...(flags['stream-token-grace'] !== undefined && { tokenGraceMs: flags['stream-token-grace'] }),
        },
      }),
    lease: {
      namespace: flags['lease-namespace'],
      name: flags['lease-name'],
      identity,
      leaseDurationMs,
      renewDeadlineMs: Math.round(leaseDurationMs * (2 / 3)),
      retryPeriodMs: Math.max(200, Math.round(leaseDurationMs / 7.5)),
    },
  });
  logger.info(
    { adminPort: controller.adminPort, streamPort: controller.streamPort ?? null, server: cluster.server, namespaces: namespaces.length > 0 ? namespaces : 'all', identity },
    'gatehouse controller started',
  );
  const stop = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'shutting down');
    await controller.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return -1; // keep running
}

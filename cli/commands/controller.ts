// `gatehouse controller`: flags → a running controller. Out of cluster it reads --kubeconfig or $KUBECONFIG
// (or ~/.kube/config); in a pod, the ServiceAccount (KubeConfig.loadFromDefault covers both).
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { validateFlags } from './command-flags.ts';
import { ensureControllerHeapFlags } from './controller-heap-flags.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { z } from 'zod';
import { runController } from '../../controller/controller-main.ts';
import { DEFAULT_SECRET_SELECTOR } from '../../controller/sources/kube-source.ts';

export const CONTROLLER_USAGE = `  controller [--kubeconfig PATH] [--namespaces a,b] [--admin-port 9091] [--admin-host 0.0.0.0]
             [--lease-namespace default] [--lease-name gatehouse-controller] [--identity NAME]
             [--secret-selector gatehouse.dev/secret] [--lease-duration 15s] [--jwks-check-interval 60s]
             [--stream-port 9443 --stream-token-file FILE [--stream-host 0.0.0.0] [--stream-tls-cert F --stream-tls-key F]
              [--stream-token-grace 120s]]
                     the Kubernetes controller: watch the cluster, compile, write statuses (leader only)`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const flagsSchema = z.object({
  kubeconfig: z.string().min(1).optional(),
  namespaces: z
    .string()
    .optional()
    .transform((s) => (s ?? '').split(',').map((n) => n.trim()).filter((n) => n !== ''))
    .pipe(z.array(z.string().regex(DNS_LABEL, 'each namespace must be a DNS label'))),
  'admin-port': z.coerce.number().int().min(0).max(65535).default(9091),
  'admin-host': z.string().default('0.0.0.0'),
  'lease-namespace': z.string().regex(DNS_LABEL).default('default'),
  'lease-name': z.string().min(1).default('gatehouse-controller'),
  identity: z.string().min(1).optional(),
  'secret-selector': z.string().min(1).default(DEFAULT_SECRET_SELECTOR),
  'lease-duration': z
    .string()
    // Whole seconds: the Lease stores leaseDurationSeconds.
    .regex(/^[1-9]\d*s$/, 'must be whole seconds, like 15s')
    .default('15s')
    .transform((s) => Number(s.slice(0, -1)) * 1000),
  // How often the JWKS URIs of JWT Authorizers are fetched to report their health on the Authorizers' status.
  'jwks-check-interval': z
    .string()
    .regex(/^[1-9]\d*s$/, 'must be whole seconds, like 60s')
    .default('60s')
    .transform((s) => Number(s.slice(0, -1)) * 1000),
  'stream-port': z.coerce.number().int().min(0).max(65535).optional(),
  'stream-host': z.string().default('0.0.0.0'),
  'stream-token-file': z.string().min(1).optional(),
  'stream-tls-cert': z.string().min(1).optional(),
  'stream-tls-key': z.string().min(1).optional(),
  // After the token file changes, the previous token is still admitted this long (whole seconds, 0s: not at all).
  'stream-token-grace': z
    .string()
    .regex(/^\d+s$/, 'must be whole seconds, like 120s')
    .optional()
    .transform((s) => (s === undefined ? undefined : Number(s.slice(0, -1)) * 1000)),
  'log-level': z.string().optional(),
})
  .refine((f) => f['stream-port'] === undefined || f['stream-token-file'] !== undefined, { path: ['stream-token-file'], message: 'required with --stream-port' })
  .refine((f) => (f['stream-tls-cert'] === undefined) === (f['stream-tls-key'] === undefined), { path: ['stream-tls-key'], message: '--stream-tls-cert and --stream-tls-key go together' });

export async function controllerCommand(args: string[]): Promise<number> {
  ensureControllerHeapFlags();
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      namespaces: { type: 'string' },
      'admin-port': { type: 'string' },
      'admin-host': { type: 'string' },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string' },
      identity: { type: 'string' },
      'secret-selector': { type: 'string' },
      'lease-duration': { type: 'string' },
      'jwks-check-interval': { type: 'string' },
      'stream-port': { type: 'string' },
      'stream-host': { type: 'string' },
      'stream-token-file': { type: 'string' },
      'stream-tls-cert': { type: 'string' },
      'stream-tls-key': { type: 'string' },
      'stream-token-grace': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  const flags = validateFlags('controller', flagsSchema, values, CONTROLLER_USAGE);
  if (flags === undefined) return 2;
  const logger = pino({ level: flags['log-level'] ?? process.env.LOG_LEVEL ?? 'info' });
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
    namespaces: flags.namespaces,
    secretSelector: flags['secret-selector'],
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
    { adminPort: controller.adminPort, streamPort: controller.streamPort ?? null, server: cluster.server, namespaces: flags.namespaces.length > 0 ? flags.namespaces : 'all', identity },
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

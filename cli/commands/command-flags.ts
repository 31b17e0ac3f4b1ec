// Every command of `gatehouse`, with its flags: the one place a flag's name, value, default and description are
// written. The parsing, the validation, `gatehouse <command> --help` and the top-level usage all come from here
// (see flag-definitions.ts). Kept light: the top-level usage and every command's start load it.
import { z } from 'zod';
import { defineCommand, defineFlags, type CommandDefinition } from './flag-definitions.ts';
import { LOG_LEVEL_FLAGS } from './log-level.ts';
import { OTLP_FLAGS } from './otlp-flags.ts';
import { REDIS_FLAGS } from './redis-flags.ts';
import { CACHE_FLAGS } from './cache-flags.ts';
import { shutdownFlags } from './shutdown-flags.ts';
import { TRUSTED_PROXIES_FLAGS } from './trusted-proxies-flag.ts';
import { DEFAULT_TLS_SECRET_FLAGS, TLS_FLAGS } from './tls-flags.ts';
import { CLIENT_TIMEOUT_FLAGS } from './client-timeout-flags.ts';

const port = z.coerce.number().int().min(0).max(65535);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Whole seconds (`15s`) → milliseconds. */
const wholeSeconds = (example: string, min: 0 | 1) =>
  z
    .string()
    .regex(min === 1 ? /^[1-9]\d*s$/ : /^\d+s$/, `must be whole seconds, like ${example}`)
    .transform((s) => Number(s.slice(0, -1)) * 1000);

/** The access log of a gateway (standalone and proxy): docs/access-log.md. */
const ACCESS_LOG_FLAGS = defineFlags({
  'access-log-sample': {
    value: 'RATE',
    schema: z.coerce.number().min(0).max(1),
    default: '1',
    description: 'share of requests answered below 400 that are logged, 0 to 1 (400 and above always are)',
  },
});

/** WebSocket connections on a gateway (standalone and proxy): docs/websockets.md. */
const WEBSOCKET_FLAGS = defineFlags({
  'websocket-drain': {
    value: 'SECONDS',
    schema: wholeSeconds('30s', 0),
    default: '30s',
    description: 'an open WebSocket whose route is removed or changed keeps working this long, then gets 1001',
  },
});

export const STANDALONE = defineCommand({
  name: 'standalone',
  purpose: 'serve the manifests in DIR (watched, hot-reloaded) without a cluster',
  flags: {
    config: { value: 'DIR', short: 'c', schema: z.string().min(1), required: true, description: 'the manifests to serve' },
    port: { value: 'N', schema: port, default: '8080', description: 'the gateway port' },
    'admin-port': { value: 'N', schema: port, default: '9090', description: 'the admin port (health, metrics)' },
    host: { value: 'HOST', schema: z.string(), default: '127.0.0.1', description: 'the address both ports listen on' },
    'demo-upstream': { boolean: true, description: 'also start the demo upstreams the examples route to' },
    ...TLS_FLAGS,
    ...DEFAULT_TLS_SECRET_FLAGS,
    'self-signed-tls': { boolean: true, description: 'with --https-port: a certificate for localhost and 127.0.0.1 made at start, as the default' },
    ...TRUSTED_PROXIES_FLAGS,
    ...CLIENT_TIMEOUT_FLAGS,
    // No delay by default: on a laptop nothing balances across standalone gateways, and Ctrl-C should be quick.
    ...shutdownFlags('0s'),
    ...LOG_LEVEL_FLAGS,
    ...ACCESS_LOG_FLAGS,
    ...OTLP_FLAGS,
    ...WEBSOCKET_FLAGS,
    ...REDIS_FLAGS,
    ...CACHE_FLAGS,
  },
});

export const VALIDATE = defineCommand({
  name: 'validate',
  purpose: "compile offline, print each resource's conditions, exit 1 on problems",
  positionals: 'FILE|DIR…',
  flags: {},
});

export const CONTROLLER = defineCommand({
  name: 'controller',
  purpose: 'the Kubernetes controller: watch the cluster, compile, write statuses (leader only), serve tables to proxies on the stream port',
  flags: {
    kubeconfig: { value: 'PATH', schema: z.string().min(1), description: 'the cluster to watch (default: $KUBECONFIG, ~/.kube/config or the pod)' },
    namespaces: {
      value: 'NS,…',
      schema: z
        .string()
        .transform((s) => s.split(',').map((n) => n.trim()).filter((n) => n !== ''))
        .pipe(z.array(z.string().regex(DNS_LABEL, 'each namespace must be a DNS label'))),
      description: 'the namespaces to watch (default: all)',
    },
    'admin-port': { value: 'N', schema: port, default: '9091', description: 'the admin port (health, metrics)' },
    'admin-host': { value: 'HOST', schema: z.string(), default: '0.0.0.0', description: 'the address the admin port listens on' },
    'lease-namespace': { value: 'NS', schema: z.string().regex(DNS_LABEL), default: 'default', description: 'the namespace of the leader election Lease' },
    'lease-name': { value: 'NAME', schema: z.string().min(1), default: 'gatehouse-controller', description: 'the leader election Lease' },
    identity: { value: 'NAME', schema: z.string().min(1), description: 'this replica in the Lease, unique per replica (default: $POD_NAME, else host-pid)' },
    // Also the kube source's DEFAULT_SECRET_SELECTOR and DEFAULT_CONFIGMAP_SELECTOR (a test keeps them equal):
    // importing them here would load the Kubernetes client for every command.
    'secret-selector': { value: 'LABEL', schema: z.string().min(1), default: 'gatehouse.dev/secret', description: 'the label selecting the Secrets the controller reads' },
    'configmap-selector': {
      value: 'LABEL',
      schema: z.string().min(1),
      default: 'gatehouse.dev/config',
      description: 'the label selecting the ConfigMaps the controller reads (validation schemas, direct-response bodies)',
    },
    ...DEFAULT_TLS_SECRET_FLAGS,
    // Whole seconds: the Lease stores leaseDurationSeconds.
    'lease-duration': { value: 'SECONDS', schema: wholeSeconds('15s', 1), default: '15s', description: 'the leader election Lease duration' },
    'jwks-check-interval': {
      value: 'SECONDS',
      schema: wholeSeconds('60s', 1),
      default: '60s',
      description: "how often JWT Authorizers' JWKS URIs are fetched to report their health",
    },
    'stream-port': { value: 'N', schema: port, description: 'serve tables to proxies on this port (with --stream-token-file)' },
    'stream-host': { value: 'HOST', schema: z.string(), default: '0.0.0.0', description: 'the address the stream port listens on' },
    'stream-token-file': { value: 'FILE', schema: z.string().min(1), description: 'the token proxies present, reloaded when it changes' },
    'stream-tls-cert': { value: 'FILE', schema: z.string().min(1), description: 'TLS certificate of the stream port (with --stream-tls-key)' },
    'stream-tls-key': { value: 'FILE', schema: z.string().min(1), description: 'TLS key of the stream port (with --stream-tls-cert)' },
    'stream-token-grace': {
      value: 'SECONDS',
      schema: wholeSeconds('120s', 0),
      description: 'after the token file changes, the previous token is still admitted this long (0s: not at all)',
    },
    ...LOG_LEVEL_FLAGS,
  },
  refine: (flags) =>
    flags
      .refine((f) => f['stream-port'] === undefined || f['stream-token-file'] !== undefined, { path: ['stream-token-file'], message: 'required with --stream-port' })
      .refine((f) => (f['stream-tls-cert'] === undefined) === (f['stream-tls-key'] === undefined), {
        path: ['stream-tls-key'],
        message: '--stream-tls-cert and --stream-tls-key go together',
      }),
});

export const PROXY = defineCommand({
  name: 'proxy',
  purpose: 'one proxy of the fleet: subscribes to the controller, serves its table (kept in --table-file)',
  flags: {
    controller: {
      value: 'ws(s)://HOST:PORT',
      schema: z.url({ protocol: /^wss?$/, error: 'must be a ws:// or wss:// URL' }),
      required: true,
      description: "the controller's stream port",
    },
    'token-file': { value: 'FILE', schema: z.string().min(1), required: true, description: 'the stream token, reloaded when it changes' },
    'table-file': { value: 'PATH', schema: z.string().min(1), description: 'keeps the last good table (PATH and PATH.journal, mode 0600), served at start before the controller answers' },
    port: { value: 'N', schema: port, default: '8080', description: 'the gateway port' },
    'admin-port': { value: 'N', schema: port, default: '9090', description: 'the admin port (health, metrics)' },
    host: { value: 'HOST', schema: z.string(), default: '0.0.0.0', description: 'the address the gateway port listens on' },
    'admin-host': { value: 'HOST', schema: z.string(), description: 'the address the admin port listens on (default: --host)' },
    name: { value: 'NAME', schema: z.string().min(1).max(253), description: 'this proxy to the controller (default: $POD_NAME, else host-pid)' },
    'ca-file': { value: 'FILE', schema: z.string().min(1), description: 'CA certificates (PEM) to verify a wss:// controller with' },
    'max-routes': { value: 'N', schema: z.coerce.number().int().positive(), description: 'refuse tables with more routes' },
    ...TLS_FLAGS,
    ...TRUSTED_PROXIES_FLAGS,
    ...CLIENT_TIMEOUT_FLAGS,
    ...shutdownFlags('5s'),
    ...LOG_LEVEL_FLAGS,
    ...ACCESS_LOG_FLAGS,
    ...OTLP_FLAGS,
    ...WEBSOCKET_FLAGS,
    ...REDIS_FLAGS,
    ...CACHE_FLAGS,
  },
});

export const VERSION = defineCommand({ name: 'version', purpose: 'print the version', flags: {} });

/** In the order of the top-level usage. */
export const COMMANDS: readonly CommandDefinition[] = [STANDALONE, VALIDATE, CONTROLLER, PROXY, VERSION];

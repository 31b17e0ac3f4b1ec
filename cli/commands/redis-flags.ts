// The Redis of Global rate limits, for `gatehouse proxy` and `gatehouse standalone` (one definition for both): a URL
// or Cluster seed nodes, a password read from a file (never a flag: flags show in `ps`), timeouts, and the bound on
// the proxy's own counters.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DEFAULT_LOCAL_LIMIT_KEYS } from '../../proxy/policy/rate-limit/local-limit-store.ts';
import type { GatewayOptions } from '../../proxy/server/start-gateway.ts';
import { durationFlag } from './duration-flag.ts';
import { defineFlags, flagsShape, parseOptions, type FlagValues } from './flag-definitions.ts';

const duration = durationFlag(1);

const hostPort = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export const REDIS_FLAGS = defineFlags({
  'redis-url': {
    value: 'redis(s)://HOST:PORT',
    schema: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }),
    description: 'the Redis of Global rate limits (or --redis-cluster-nodes)',
  },
  'redis-cluster-nodes': {
    value: 'HOST:PORT,…',
    schema: z
      .string()
      .transform((text) => text.split(',').map((n) => n.trim()).filter((n) => n !== ''))
      .refine((nodes) => nodes.length > 0 && nodes.every((n) => hostPort.test(n)), 'must be comma-separated HOST:PORT seed nodes'),
    description: 'seed nodes of a Redis Cluster, instead of --redis-url',
  },
  'redis-password-file': { value: 'FILE', schema: z.string().min(1), description: 'the Redis password, read from this file' },
  'redis-tls': { boolean: true, description: 'TLS to the cluster nodes (a URL says it with rediss://)' },
  'redis-ca-file': { value: 'FILE', schema: z.string().min(1), description: 'CA certificates (PEM) to verify Redis with' },
  'redis-timeout': { value: 'DURATION', schema: duration, default: '100ms', description: 'how long a Redis command may take' },
  'redis-connect-timeout': { value: 'DURATION', schema: duration, default: '2s', description: 'how long connecting to Redis may take' },
  'local-limit-keys': {
    value: 'N',
    schema: z.coerce.number().int().min(1_000).max(10_000_000),
    default: String(DEFAULT_LOCAL_LIMIT_KEYS),
    description: 'the most rate-limit counters kept in the process',
  },
});

/** For a parseArgs of one's own (bench/gateway-process.ts). */
export const REDIS_PARSE_OPTIONS = parseOptions(REDIS_FLAGS);
export const redisFlagsShape = flagsShape(REDIS_FLAGS);

export type RedisFlags = FlagValues<typeof REDIS_FLAGS>;

/** The gateway's Redis options from the flags, or a one-line error (both URL and nodes, an unreadable password file). */
export async function redisOptions(flags: RedisFlags): Promise<Pick<GatewayOptions, 'redis' | 'localLimitKeys'> | string> {
  const url = flags['redis-url'];
  const nodes = flags['redis-cluster-nodes'];
  if (url !== undefined && nodes !== undefined) return '--redis-url and --redis-cluster-nodes are exclusive';
  const common = { localLimitKeys: flags['local-limit-keys'] };
  if (url === undefined && nodes === undefined) return common;
  const password = await readFlagFile('redis-password-file', flags['redis-password-file']);
  if (password.error !== undefined) return password.error;
  const ca = await readFlagFile('redis-ca-file', flags['redis-ca-file']);
  if (ca.error !== undefined) return ca.error;
  return {
    ...common,
    redis: {
      ...(url !== undefined && { url }),
      ...(nodes !== undefined && { clusterNodes: nodes }),
      ...(password.text !== undefined && { password: password.text.trim() }),
      ...(ca.text !== undefined && { caPem: ca.text }),
      ...(flags['redis-tls'] && { tls: true }),
      commandTimeoutMs: flags['redis-timeout'],
      connectTimeoutMs: flags['redis-connect-timeout'],
    },
  };
}

async function readFlagFile(flag: string, file: string | undefined): Promise<{ text?: string; error?: string }> {
  if (file === undefined) return {};
  try {
    return { text: await readFile(file, 'utf8') };
  } catch (err) {
    return { error: `--${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
  }
}

// The Redis of Global rate limits, for `gatehouse proxy` and `gatehouse standalone` (one definition for both): a URL
// or Cluster seed nodes, a password read from a file (never a flag: flags show in `ps`), timeouts, and the bound on
// the proxy's own counters.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DEFAULT_LOCAL_LIMIT_KEYS } from '../../proxy/policy/rate-limit/local-limit-store.ts';
import type { GatewayOptions } from '../../proxy/server/start-gateway.ts';
import { parseDurationMs } from '../../crds/schemas/index.ts';

export const REDIS_USAGE = `[--redis-url redis(s)://HOST:PORT | --redis-cluster-nodes HOST:PORT,…] [--redis-password-file FILE]
        [--redis-tls] [--redis-ca-file FILE] [--redis-timeout 100ms] [--redis-connect-timeout 2s] [--local-limit-keys ${DEFAULT_LOCAL_LIMIT_KEYS}]`;

export const REDIS_PARSE_OPTIONS = {
  'redis-url': { type: 'string' },
  'redis-cluster-nodes': { type: 'string' },
  'redis-password-file': { type: 'string' },
  'redis-tls': { type: 'boolean' },
  'redis-ca-file': { type: 'string' },
  'redis-timeout': { type: 'string' },
  'redis-connect-timeout': { type: 'string' },
  'local-limit-keys': { type: 'string' },
} as const;

const duration = (fallback: string) =>
  z
    .string()
    .regex(/^(?:\d+(?:\.\d+)?(?:ms|s|m))+$/, 'must be a duration such as "100ms" or "2s"')
    .default(fallback)
    .transform(parseDurationMs)
    .refine((ms) => ms >= 1, 'must be at least 1ms');

const hostPort = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export const redisFlagsShape = {
  'redis-url': z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  'redis-cluster-nodes': z
    .string()
    .transform((text) => text.split(',').map((n) => n.trim()).filter((n) => n !== ''))
    .refine((nodes) => nodes.length > 0 && nodes.every((n) => hostPort.test(n)), 'must be comma-separated HOST:PORT seed nodes')
    .optional(),
  'redis-password-file': z.string().min(1).optional(),
  'redis-tls': z.boolean().optional(),
  'redis-ca-file': z.string().min(1).optional(),
  'redis-timeout': duration('100ms'),
  'redis-connect-timeout': duration('2s'),
  'local-limit-keys': z.coerce.number().int().min(1_000).max(10_000_000).default(DEFAULT_LOCAL_LIMIT_KEYS),
};

export type RedisFlags = z.output<z.ZodObject<typeof redisFlagsShape>>;

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

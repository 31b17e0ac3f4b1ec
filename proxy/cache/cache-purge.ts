// Purging the cache from the admin port: by route (an ApiRoute "<ns>/<name>" or one of its rules "<ns>/<name>/r<n>")
// or by key prefix (keys read "<ns>/<name>/r<n> <METHOD> <host><path>[?<query>] …", cache-key.ts), in this proxy's
// memory and in the shared Redis tier.
import { z } from 'zod';
import type { CacheEnv } from './route-cache.ts';

export const purgeRequestSchema = z
  .object({
    route: z
      .string()
      .max(512)
      .regex(/^[a-z0-9][-a-z0-9.]*\/[a-z0-9][-a-z0-9.]*(\/r\d+)?$/, 'must be an ApiRoute "<namespace>/<name>" or a rule "<namespace>/<name>/r<n>"')
      .optional(),
    prefix: z.string().min(1).max(4096).optional(),
  })
  .strict()
  .refine((r) => (r.route === undefined) !== (r.prefix === undefined), 'give exactly one of route and prefix');
export type PurgeRequest = z.output<typeof purgeRequestSchema>;

export interface PurgeResult {
  /** The key prefix purged. */
  prefix: string;
  /** Records removed from this proxy's memory. */
  memory: number;
  /** Keys removed from Redis; null without a Redis tier. */
  redis: number | null;
}

export function purgePrefix(request: PurgeRequest): string {
  if (request.prefix !== undefined) return request.prefix;
  const route = request.route as string;
  // A rule's keys start with its id and a space; an ApiRoute's with its id and "/r".
  return route.split('/').length === 3 ? `${route} ` : `${route}/r`;
}

export async function purgeCache(env: CacheEnv, request: PurgeRequest): Promise<PurgeResult> {
  const prefix = purgePrefix(request);
  const memory = env.memory.purge(prefix);
  const redis = env.redis === null ? null : await env.redis.purge(prefix);
  return { prefix, memory, redis };
}

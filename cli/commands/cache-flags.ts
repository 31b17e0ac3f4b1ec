// The response cache's and the admin port's flags of a gateway (`gatehouse proxy` and `gatehouse standalone`): the
// memory tier's bound (docs/caching.md) and the token the admin port's purge endpoint requires.
import { z } from 'zod';
import { parseSizeBytes } from '../../crds/schemas/quantities.ts';
import { defineFlags, parseOptions } from './flag-definitions.ts';

const SIZE_RE = /^\d+(?:Ki|Mi|Gi|k|M|G)?$/;

export const CACHE_FLAGS = defineFlags({
  'cache-max-bytes': {
    value: 'SIZE',
    schema: z
      .string()
      .regex(SIZE_RE, 'must be a size such as "268435456", "512Mi" or "1Gi"')
      .transform(parseSizeBytes)
      .refine((n) => n >= 1024 * 1024, 'must be at least 1Mi'),
    default: '256Mi',
    description: "the bound on this process' memory cache, in bytes (least recently used entries are evicted)",
  },
  'admin-token-file': {
    value: 'FILE',
    schema: z.string().min(1),
    description: "the bearer token the admin port's cache purge requires, read per request (without it, purge answers 403)",
  },
});

/** For a parseArgs of one's own (bench/gateway-process.ts). */
export const CACHE_PARSE_OPTIONS = parseOptions(CACHE_FLAGS);

/** The gateway options of the flags. */
export function cacheOptions(flags: { 'cache-max-bytes': number; 'admin-token-file'?: string | undefined }): { cache: { maxBytes: number }; adminTokenFile?: string } {
  return { cache: { maxBytes: flags['cache-max-bytes'] }, ...(flags['admin-token-file'] !== undefined && { adminTokenFile: flags['admin-token-file'] }) };
}

// Durations ("250ms", "5s", "1m30s") and byte sizes ("1Mi", "512Ki", "1000") as users write them in manifests.
import { z } from 'zod';

const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export const durationSchema = z
  .string()
  .regex(DURATION_RE, 'must be a duration such as "250ms", "5s", "1m30s" or "1h"')
  .meta({ pattern: DURATION_RE.source });

export function parseDurationMs(text: string): number {
  let total = 0;
  for (const m of text.matchAll(DURATION_PART_RE)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return Math.round(total);
}

const SIZE_RE = /^\d+(?:Ki|Mi|Gi|k|M|G)?$/;
const SIZE_UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

export const sizeSchema = z
  .string()
  .regex(SIZE_RE, 'must be a size such as "1048576", "512Ki", "10Mi" or "1G"')
  .meta({ pattern: SIZE_RE.source });

export function parseSizeBytes(text: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|k|M|G)?$/.exec(text);
  if (!m) throw new Error(`invalid size ${JSON.stringify(text)}`);
  return Number(m[1]) * (SIZE_UNITS[m[2] ?? ''] as number);
}

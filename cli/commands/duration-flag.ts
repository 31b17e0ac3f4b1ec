// The value of a duration flag (`--redis-timeout 100ms`, `--shutdown-delay 5s`): one grammar for every such flag,
// the manifests' without hours ("250ms", "2s", "1m30s", "1.5s"), converted to milliseconds.
import { z } from 'zod';
import { parseDurationMs } from '../../crds/schemas/quantities.ts';

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m))+$/;
/** Beyond this a Node timer fires at once (2^31 - 1 ms); no flag means anything near it. */
const MAX_MS = 3_600_000;

/** A duration of at least `minMs` (0 allowed: "0s", "0ms") and at most an hour. */
export function durationFlag(minMs: number) {
  return z
    .string()
    .regex(DURATION, 'must be a duration such as "100ms", "2s" or "1m30s"')
    .transform(parseDurationMs)
    .refine((ms) => ms >= minMs, `must be at least ${minMs}ms`)
    .refine((ms) => ms <= MAX_MS, 'must be at most 1h');
}

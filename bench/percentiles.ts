// Summary statistics shared by the benchmarks, so every result file computes p50/p99 the same way.

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** One decimal, for milliseconds in result files. */
export const round1 = (n: number): number => Math.round(n * 10) / 10;

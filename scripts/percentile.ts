/**
 * The percentile the benchmarks report.
 *
 * @module
 */

/** The value at fraction `p` (0..1) of an ascending list; NaN for an empty one. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/**
 * Durations as people write them in the targets file: `30s`, `5m`, `1h`, `250ms`, or plain seconds.
 *
 * @module
 */

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Milliseconds for a duration like `30s`, `1.5m` or `45`; throws a RangeError saying what is expected. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!match) {
    throw new RangeError(`expected a number with unit ms, s, m or h (like 30s or 5m)`);
  }
  const ms = Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]!);
  if (ms <= 0) throw new RangeError("expected a duration above zero");
  return ms;
}

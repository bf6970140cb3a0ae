/**
 * Accepted status codes as written in the targets file: `200`, `200-299`, `2xx`, `200,301`.
 *
 * @module
 */
import type { StatusRange } from "./target.ts";

/** The ranges of a status-code list; throws a RangeError saying what is expected. */
export function parseExpect(text: string): StatusRange[] {
  const ranges: StatusRange[] = [];
  for (const raw of text.split(",")) {
    const part = raw.trim();
    let range: StatusRange | undefined;
    let match: RegExpExecArray | null;
    if ((match = /^([1-5])xx$/i.exec(part))) {
      const base = Number(match[1]) * 100;
      range = { from: base, to: base + 99 };
    } else if ((match = /^(\d{3})-(\d{3})$/.exec(part))) {
      range = { from: Number(match[1]), to: Number(match[2]) };
    } else if (/^\d{3}$/.test(part)) {
      range = { from: Number(part), to: Number(part) };
    }
    if (!range || range.from < 100 || range.to > 599 || range.from > range.to) {
      throw new RangeError(
        `expected status codes from 100 to 599 like 200, 200-299, 2xx or 200,301`,
      );
    }
    ranges.push(range);
  }
  return ranges;
}

/** Whether a status code is in any of the ranges. */
export function statusAccepted(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((range) => status >= range.from && status <= range.to);
}

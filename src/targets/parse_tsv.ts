/**
 * The targets file: TSV, with or without a header row (see README "The targets file").
 *
 * Every problem in a file is collected, each with its file, line and column (the cell's position
 * in the row, 1 = first cell), so an operator fixes them all in one pass.
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import { parseDuration } from "./parse_duration.ts";
import { parseExpect } from "./parse_expect.ts";
import type { StatusRange, Target, TargetMethod } from "./target.ts";
import { targetId } from "./target_id.ts";

/** One problem in a targets file. */
export interface TargetsFileError {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** What parseTsv found: the targets when there are no errors, else every error. */
export interface ParsedTargets {
  targets: Target[];
  errors: TargetsFileError[];
}

/** Columns a header may name. */
export const COLUMNS = ["url", "regex", "name", "interval", "timeout", "expect", "method"] as const;
type Column = (typeof COLUMNS)[number];

const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_EXPECT: StatusRange[] = [{ from: 200, to: 399 }];
const METHODS: readonly string[] = ["GET", "HEAD"];

/** `FILE:LINE:COLUMN: message`, the form errors are printed in. */
export function formatTargetsError(error: TargetsFileError): string {
  return `${error.file}:${error.line}:${error.column}: ${error.message}`;
}

/** Parses and validates the text of a targets file named `file` (the name is only for messages). */
export function parseTsv(text: string, file: string): ParsedTargets {
  const errors: TargetsFileError[] = [];
  const report = (line: number, column: number, message: string) =>
    errors.push({ file, line, column, message });

  let rows: { line: number; cells: string[] }[];
  try {
    const records = parse(text, {
      delimiter: "\t",
      quote: false,
      bom: true,
      comment: "#",
      comment_no_infix: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
    rows = records
      .map(({ record, info }) => ({ line: info.lines, cells: record }))
      // A line of only spaces and tabs counts as blank.
      .filter(({ cells }) => cells.some((cell) => cell.trim() !== ""));
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 1;
    report(line, 1, `cannot read the file as TSV: ${(error as Error).message}`);
    return { targets: [], errors };
  }

  let columns: (Column | null)[] = ["url", "regex"];
  let headerLine: number | null = null;
  if (rows[0] && rows[0].cells[0]?.trim().toLowerCase() === "url") {
    const header = rows.shift()!;
    headerLine = header.line;
    columns = header.cells.map((cell, index) => {
      const name = cell.trim().toLowerCase();
      if (!(COLUMNS as readonly string[]).includes(name)) {
        report(
          header.line,
          index + 1,
          `unknown column "${cell.trim()}": expected ${COLUMNS.join(", ")}`,
        );
        return null;
      }
      if (header.cells.slice(0, index).some((other) => other.trim().toLowerCase() === name)) {
        report(header.line, index + 1, `column "${name}" appears twice in the header`);
        return null;
      }
      return name as Column;
    });
  }
  if (rows.length === 0) {
    report(headerLine ?? 1, 1, "no targets in the file: expected one URL per line");
    return { targets: [], errors };
  }

  const targets: Target[] = [];
  const names = new Map<string, number>();
  const ids = new Map<string, number>();
  for (const { line, cells } of rows) {
    if (cells.length > columns.length) {
      report(
        line,
        columns.length + 1,
        headerLine === null
          ? `too many cells: a file without a header has URL<TAB>REGEX per line`
          : `too many cells: the header on line ${headerLine} names ${columns.length} columns`,
      );
      continue;
    }
    const cell = (column: Column): { value: string; column: number } | undefined => {
      const index = columns.indexOf(column);
      if (index < 0 || index >= cells.length) return undefined;
      const value = column === "regex" ? cells[index]! : cells[index]!.trim();
      return value === "" ? undefined : { value, column: index + 1 };
    };
    const before = errors.length;

    const urlCell = cell("url");
    let url = "";
    if (!urlCell) {
      report(line, columns.indexOf("url") + 1, "missing url: expected an http:// or https:// URL");
    } else {
      try {
        const parsed = new URL(urlCell.value);
        if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
          report(
            line,
            urlCell.column,
            `unsupported URL scheme "${parsed.protocol}": expected http or https`,
          );
        }
        url = parsed.href;
      } catch {
        report(
          line,
          urlCell.column,
          `cannot parse URL "${clip(urlCell.value)}": expected an absolute http:// or https:// URL`,
        );
      }
    }

    const regexCell = cell("regex");
    if (regexCell) {
      try {
        new RegExp(regexCell.value);
      } catch (error) {
        report(line, regexCell.column, `bad regex: ${(error as Error).message}`);
      }
    }

    const methodCell = cell("method");
    const method = (methodCell?.value.toUpperCase() ?? "GET") as TargetMethod;
    if (methodCell && !METHODS.includes(method)) {
      report(
        line,
        methodCell.column,
        `unsupported method "${clip(methodCell.value)}": expected GET or HEAD`,
      );
    }
    if (methodCell && method === "HEAD" && regexCell) {
      report(line, regexCell.column, "a HEAD check has no body for the regex to match: use GET");
    }

    const intervalCell = cell("interval");
    const intervalMs = durationOf(intervalCell, "interval", DEFAULT_INTERVAL_MS, line, report);
    const timeoutCell = cell("timeout");
    const timeoutMs = durationOf(
      timeoutCell,
      "timeout",
      Math.min(DEFAULT_TIMEOUT_MS, intervalMs),
      line,
      report,
    );
    if (timeoutCell && intervalMs > 0 && timeoutMs > intervalMs) {
      report(
        line,
        timeoutCell.column,
        `timeout ${timeoutCell.value} is longer than the interval: expected at most ${
          intervalCell?.value ?? "60s"
        }`,
      );
    }

    const expectCell = cell("expect");
    let expect = DEFAULT_EXPECT;
    if (expectCell) {
      try {
        expect = parseExpect(expectCell.value);
      } catch (error) {
        report(
          line,
          expectCell.column,
          `cannot parse expect "${clip(expectCell.value)}": ${(error as Error).message}`,
        );
      }
    }

    const nameCell = cell("name");
    if (nameCell) {
      const first = names.get(nameCell.value);
      if (first !== undefined) {
        report(
          line,
          nameCell.column,
          `duplicate name "${clip(nameCell.value)}": first used on line ${first}`,
        );
      } else {
        names.set(nameCell.value, line);
      }
    }

    if (errors.length > before) continue;
    const regex = regexCell?.value ?? null;
    const id = targetId({ name: nameCell?.value ?? null, method, url, regex });
    const sameAs = ids.get(id);
    if (sameAs !== undefined) {
      report(
        line,
        urlCell!.column,
        `duplicate target: line ${sameAs} already checks ${method} ${url} with the same regex`,
      );
      continue;
    }
    ids.set(id, line);
    targets.push({
      id,
      name: nameCell?.value ?? url,
      url,
      method,
      regex,
      intervalMs,
      timeoutMs,
      expect,
      source: { file, line },
    });
  }
  // In reading order: by line, then by column.
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return errors.length > 0 ? { targets: [], errors } : { targets, errors };
}

function durationOf(
  cell: { value: string; column: number } | undefined,
  what: string,
  fallback: number,
  line: number,
  report: (line: number, column: number, message: string) => void,
): number {
  if (!cell) return fallback;
  try {
    return parseDuration(cell.value);
  } catch (error) {
    report(
      line,
      cell.column,
      `cannot parse ${what} "${clip(cell.value)}": ${(error as Error).message}`,
    );
    return 0;
  }
}

// Long cells (a 1 MB line) are cut in messages so an error stays one readable line.
function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

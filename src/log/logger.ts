/**
 * One line per event on stderr: JSON for machines (when not on a terminal), text for people.
 *
 * @module
 */

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured fields of an event. */
export type LogFields = Record<string, unknown>;

/** Writes events at or above its level. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A logger writing whole lines through `write`, as JSON or as `TIME LEVEL message key=value`. */
export function createLogger(
  options: { level: LogLevel; json: boolean; write: (line: string) => void; now?: () => number },
): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const time = new Date(now()).toISOString();
    if (options.json) {
      options.write(JSON.stringify({ time, level, message, ...fields }));
      return;
    }
    const extra = Object.entries(fields)
      // Quote values with spaces or line breaks so that every event stays on one line.
      .map(([key, value]) =>
        `${key}=${
          typeof value === "string" && !/[\s"]/.test(value) ? value : JSON.stringify(value)
        }`
      )
      .join(" ");
    options.write(`${time} ${level.toUpperCase().padEnd(5)} ${message}${extra ? ` ${extra}` : ""}`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** A logger writing lines to a stream (stderr): JSON unless `json` is false, or the stream is a terminal and `json` unset. */
export function createStreamLogger(
  options: { logLevel: LogLevel; logJson: boolean | null },
  stream: { writeSync(bytes: Uint8Array): number; isTerminal(): boolean },
): Logger {
  const encoder = new TextEncoder();
  return createLogger({
    level: options.logLevel,
    json: options.logJson ?? !stream.isTerminal(),
    write: (line) => writeAllSync(stream, encoder.encode(`${line}\n`)),
  });
}

/** Writes all of `bytes` to a stream that may take them in parts. */
export function writeAllSync(
  stream: { writeSync(bytes: Uint8Array): number },
  bytes: Uint8Array,
): void {
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

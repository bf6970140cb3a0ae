/**
 * Flags both programs share (logging, help, version) and the number parsing their options use.
 *
 * @module
 */
import { LOG_LEVELS, type LogLevel } from "../log/logger.ts";
import { UsageError } from "./usage_error.ts";

/** parseArgs option specs for the shared flags. */
export const COMMON_FLAG_SPECS = {
  "http-port": { type: "string" },
  "http-host": { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

/** Environment variables the shared flags read. */
export const COMMON_ENV_VARS: readonly string[] = ["HTTP_PORT", "HTTP_HOST", "LOG_LEVEL"];

/** The `--help` lines for the shared flags. */
export const COMMON_FLAGS_HELP = `HTTP (off unless a port is given):
      --http-port N            Serve /healthz, /readyz and /metrics on this port (env HTTP_PORT;
                               0 picks a free port and logs it)
      --http-host HOST         Address to listen on (env HTTP_HOST; default 127.0.0.1; 0.0.0.0 for all)

Logging:
      --log-level LEVEL        debug, info, warn or error (env LOG_LEVEL; default info)
      --log-format F           json or text (default: json when stderr is not a terminal)

  -h, --help                   Show this help and exit
  -V, --version                Print the version and exit`;

/** The log level and format from `--log-level` (or LOG_LEVEL) and `--log-format`. */
export function resolveLogOptions(
  values: { "log-level"?: string; "log-format"?: string },
  env: Record<string, string | undefined>,
): { logLevel: LogLevel; logJson: boolean | null } {
  const logLevel = (values["log-level"] ?? env.LOG_LEVEL ?? "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`Cannot use --log-level "${logLevel}": expected ${LOG_LEVELS.join(", ")}`);
  }
  const logFormat = values["log-format"];
  if (logFormat !== undefined && logFormat !== "json" && logFormat !== "text") {
    throw new UsageError(`Cannot use --log-format "${logFormat}": expected json or text`);
  }
  return {
    logLevel: logLevel as LogLevel,
    logJson: logFormat === undefined ? null : logFormat === "json",
  };
}

/** A whole number flag of at least `min`, or `fallback` when absent; throws UsageError naming the flag. */
export function wholeNumber(
  text: string | undefined,
  flag: string,
  fallback: number,
  min: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(
      `Cannot use ${flag} "${text}": expected a whole number of at least ${min}`,
    );
  }
  return value;
}

/** Where to serve HTTP, or null when no port was given. */
export interface HttpOptions {
  hostname: string;
  port: number;
}

/** `--http-port` / `--http-host` (or HTTP_PORT / HTTP_HOST); null without a port. */
export function resolveHttpOptions(
  values: { "http-port"?: string; "http-host"?: string },
  env: Record<string, string | undefined>,
): HttpOptions | null {
  const portText = values["http-port"] ?? env.HTTP_PORT;
  const hostname = values["http-host"] ?? env.HTTP_HOST ?? "127.0.0.1";
  if (portText === undefined || portText === "") {
    if (values["http-host"] !== undefined) {
      throw new UsageError("--http-host needs --http-port (or HTTP_PORT)");
    }
    return null;
  }
  const port = wholeNumber(portText, "--http-port", 0, 0);
  if (port > 65_535) {
    throw new UsageError(`Cannot use --http-port "${portText}": expected a port from 0 to 65535`);
  }
  if (hostname === "" || /[\s/]/.test(hostname)) {
    throw new UsageError(
      `Cannot use --http-host "${hostname}": expected a host name or IP address`,
    );
  }
  return { hostname, port };
}

/**
 * The monitor's command line: flags and environment variables in, a complete MonitorConfig out.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../cli/usage_error.ts";
import {
  KAFKA_ENV_VARS,
  KAFKA_FLAG_SPECS,
  KAFKA_FLAGS_HELP,
  type KafkaOptions,
  resolveKafkaOptions,
} from "../kafka/kafka_options.ts";
import type { LogLevel } from "../log/logger.ts";
import {
  COMMON_ENV_VARS,
  COMMON_FLAG_SPECS,
  COMMON_FLAGS_HELP,
  type HttpOptions,
  resolveHttpOptions,
  resolveLogOptions,
  wholeNumber,
} from "../cli/common_flags.ts";
import type { Command } from "../cli/resolve_command.ts";
import { VERSION } from "../version.ts";

/** Environment variables the monitor reads (flags win over them). */
export const MONITOR_ENV_VARS: readonly string[] = [
  ...KAFKA_ENV_VARS,
  "MONITOR_LOCATION",
  ...COMMON_ENV_VARS,
];

/** Everything the monitor needs, validated. */
export interface MonitorConfig {
  targetsFile: string;
  once: boolean;
  /** Run only the targets of shard `index` (0-based) of `count`. */
  shard: { index: number; count: number } | null;
  location: string;
  instance: string;
  maxInFlight: number;
  maxBodyBytes: number;
  maxRedirects: number;
  /** PEM file of extra CAs trusted for https targets. */
  targetsCaFile: string | null;
  output:
    | { kind: "stdout" }
    | {
      kind: "kafka";
      kafka: KafkaOptions;
      topic: string;
      partitions: number;
      compression: "none" | "gzip";
      maxBuffered: number;
    };
  /** Where to serve /healthz, /readyz and /metrics; null for no HTTP server. */
  http: HttpOptions | null;
  logLevel: LogLevel;
  /** JSON log lines; null means "when stderr is not a terminal". */
  logJson: boolean | null;
}

/** What the command line asked for: run with a config, or print help or the version. */
export type MonitorCommand = Command<MonitorConfig>;

/** The `--help` text. */
export const MONITOR_HELP = `availability-monitor ${VERSION}
Checks HTTP targets on their schedules and publishes every result, failures included, to Kafka.

Usage:
  availability-monitor [options] TARGETS.tsv

The targets file is TSV: URL<TAB>REGEX per line, or a header row naming the columns
url, regex, name, interval, timeout, expect, method (see README.md). The file is reloaded
when it changes and on SIGHUP; a reload with errors keeps the running targets.

Checks:
      --once                   Check every target once, publish, and exit (for cron)
      --shard K/N              Check only shard K of N (1 <= K <= N), to split targets across monitors
      --location NAME          Label for where this monitor runs (env MONITOR_LOCATION; default "default")
      --instance NAME          Label for this monitor process (default: the host name)
      --max-in-flight N        Most checks running at once (default 200)
      --max-body-bytes N       Most body bytes read per check, before and after decoding (default 1048576)
      --max-redirects N        Most redirects followed per check (default 5)
      --targets-cafile FILE    Extra CA certificates (PEM) to trust for https targets

Output:
      --stdout                 Write results as NDJSON to stdout instead of Kafka
      --partitions N           Partitions of the topic when the monitor creates it (default 6)
      --compression C          none or gzip (default none)
      --max-buffered N         Results held while Kafka is unavailable; beyond it the oldest are
                               dropped and counted (default 50000)

${KAFKA_FLAGS_HELP}

${COMMON_FLAGS_HELP}

Exit codes: 0 success, 1 runtime failure, 2 bad arguments or bad targets file.
`;

/** Parses the command line; throws UsageError (exit 2) for bad input. */
export function parseMonitorArgs(
  args: string[],
  env: Record<string, string | undefined>,
  defaults: { hostname: string },
): MonitorCommand {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...KAFKA_FLAG_SPECS,
      once: { type: "boolean" },
      shard: { type: "string" },
      location: { type: "string" },
      instance: { type: "string" },
      "max-in-flight": { type: "string" },
      "max-body-bytes": { type: "string" },
      "max-redirects": { type: "string" },
      "targets-cafile": { type: "string" },
      stdout: { type: "boolean" },
      partitions: { type: "string" },
      compression: { type: "string" },
      "max-buffered": { type: "string" },
      ...COMMON_FLAG_SPECS,
    },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "missing the targets file: availability-monitor [options] TARGETS.tsv"
        : `expected one targets file, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  let shard: MonitorConfig["shard"] = null;
  if (values.shard !== undefined) {
    const match = /^(\d+)\/(\d+)$/.exec(values.shard);
    const k = Number(match?.[1]);
    const n = Number(match?.[2]);
    if (!match || n < 1 || k < 1 || k > n) {
      throw new UsageError(
        `Cannot use --shard "${values.shard}": expected K/N with 1 <= K <= N, like 1/3`,
      );
    }
    shard = { index: k - 1, count: n };
  }
  const { logLevel, logJson } = resolveLogOptions(values, env);
  const compression = values.compression ?? "none";
  if (compression !== "none" && compression !== "gzip") {
    throw new UsageError(`Cannot use --compression "${compression}": expected none or gzip`);
  }
  const kafka = values.stdout ? null : resolveKafkaOptions(values, env, "availability-monitor");
  return {
    kind: "run",
    config: {
      targetsFile: positionals[0]!,
      once: values.once ?? false,
      shard,
      location: values.location ?? env.MONITOR_LOCATION ?? "default",
      instance: values.instance ?? defaults.hostname,
      maxInFlight: wholeNumber(values["max-in-flight"], "--max-in-flight", 200, 1),
      maxBodyBytes: wholeNumber(values["max-body-bytes"], "--max-body-bytes", 1024 * 1024, 1),
      maxRedirects: wholeNumber(values["max-redirects"], "--max-redirects", 5, 0),
      targetsCaFile: values["targets-cafile"] ?? null,
      output: kafka === null ? { kind: "stdout" } : {
        kind: "kafka",
        kafka: kafka.kafka,
        topic: kafka.topic,
        partitions: wholeNumber(values.partitions, "--partitions", 6, 1),
        compression,
        maxBuffered: wholeNumber(values["max-buffered"], "--max-buffered", 50_000, 1),
      },
      http: resolveHttpOptions(values, env),
      logLevel,
      logJson,
    },
  };
}

/**
 * The writer's command line: flags and environment variables in, a complete WriterConfig out.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../cli/usage_error.ts";
import { parseDbUri } from "../db/create_pool.ts";
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

/** Environment variables the writer reads (flags win over them). */
export const WRITER_ENV_VARS: readonly string[] = [
  ...KAFKA_ENV_VARS,
  "KAFKA_GROUP_ID",
  "POSTGRES_URI",
  "DATABASE_URL",
  "API_TOKEN",
  ...COMMON_ENV_VARS,
];

/** Everything the writer needs, validated. */
export interface WriterConfig {
  dbUri: string;
  kafka: KafkaOptions;
  topic: string;
  groupId: string;
  /** Partitions of the topic if the writer has to create it. */
  topicPartitions: number;
  /** Days of partitions created ahead of today. */
  partitionsAhead: number;
  /** Drop partitions older than this many days; null keeps everything. */
  retentionDays: number | null;
  /** Where to serve health, metrics, the read API and the status page; null for none. */
  http: HttpOptions | null;
  /** Bearer token the read API requires (from API_TOKEN); null leaves it open. */
  apiToken: string | null;
  /** File holding the token; read at start, wins over API_TOKEN. */
  apiTokenFile: string | null;
  /** Heading of the status page. */
  statusTitle: string;
  logLevel: LogLevel;
  logJson: boolean | null;
}

/** What the command line asked for. */
export type WriterCommand = Command<WriterConfig>;

/** The `--help` text. */
export const WRITER_HELP = `availability-writer ${VERSION}
Consumes check results from Kafka into daily partitions of the PostgreSQL table "checks",
storing each check exactly once; messages it cannot store go to "dead_letters".

Usage:
  availability-writer --db-uri URI [options]

Database:
      --db-uri URI             PostgreSQL URI (env POSTGRES_URI, then DATABASE_URL), e.g.
                               postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem
                               sslmode: disable, allow, prefer (default), require, verify-ca, verify-full
      --partitions-ahead N     Days of partitions created ahead of today (default 7)
      --retention-days N       Drop daily partitions older than N days (default: keep everything)

Read API and status page (served on --http-port next to /healthz, /readyz, /metrics):
      --api-token-file FILE    Require "Authorization: Bearer <token>" on /api/*, the token read
                               from FILE (env API_TOKEN); the status page at / stays public
      --status-title TEXT      Heading of the status page (default Status)

Consuming:
      --group-id ID            Kafka consumer group (env KAFKA_GROUP_ID; default availability-writer)
      --partitions N           Partitions of the topic if the writer creates it (default 6)

${KAFKA_FLAGS_HELP}

${COMMON_FLAGS_HELP}

Exit codes: 0 success (also after SIGINT or SIGTERM), 1 runtime failure,
2 bad arguments or a database that refuses the connection settings.
`;

/** Parses the command line; throws UsageError (exit 2) for bad input. */
export function parseWriterArgs(
  args: string[],
  env: Record<string, string | undefined>,
): WriterCommand {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...KAFKA_FLAG_SPECS,
      "db-uri": { type: "string" },
      "group-id": { type: "string" },
      partitions: { type: "string" },
      "partitions-ahead": { type: "string" },
      "retention-days": { type: "string" },
      "api-token-file": { type: "string" },
      "status-title": { type: "string" },
      ...COMMON_FLAG_SPECS,
    },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}", see --help`);
  }
  const dbUri = values["db-uri"] ?? env.POSTGRES_URI ?? env.DATABASE_URL;
  if (!dbUri) throw new UsageError("missing --db-uri (or POSTGRES_URI, DATABASE_URL)");
  try {
    parseDbUri(dbUri);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { logLevel, logJson } = resolveLogOptions(values, env);
  const { kafka, topic } = resolveKafkaOptions(values, env, "availability-writer");
  const groupId = values["group-id"] ?? env.KAFKA_GROUP_ID ?? "availability-writer";
  return {
    kind: "run",
    config: {
      dbUri,
      kafka,
      topic,
      groupId,
      topicPartitions: wholeNumber(values.partitions, "--partitions", 6, 1),
      partitionsAhead: wholeNumber(values["partitions-ahead"], "--partitions-ahead", 7, 0),
      retentionDays: values["retention-days"] === undefined
        ? null
        : wholeNumber(values["retention-days"], "--retention-days", 0, 1),
      http: resolveHttpOptions(values, env),
      apiToken: env.API_TOKEN?.trim() || null,
      apiTokenFile: values["api-token-file"] ?? null,
      statusTitle: values["status-title"] ?? "Status",
      logLevel,
      logJson,
    },
  };
}

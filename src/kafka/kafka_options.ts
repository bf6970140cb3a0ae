/**
 * Kafka connection options shared by the monitor and the writer, and the kafkajs client config
 * built from them. The SASL password comes only from the environment, never from a flag, and is
 * never logged.
 *
 * @module
 */
import type { KafkaConfig, SASLOptions } from "kafkajs";
import { UsageError } from "../cli/usage_error.ts";

/** How to reach and authenticate to the brokers. */
export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
/** SASL mechanisms kafkajs supports that hosted services hand out. */
export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

/** Resolved Kafka connection options. */
export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  securityProtocol: SecurityProtocol;
  sslCaFile?: string;
  sslCertFile?: string;
  sslKeyFile?: string;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

/** Environment variables the Kafka options read. */
export const KAFKA_ENV_VARS = [
  "KAFKA_BROKERS",
  "KAFKA_TOPIC",
  "KAFKA_CLIENT_ID",
  "KAFKA_SECURITY_PROTOCOL",
  "KAFKA_SSL_CAFILE",
  "KAFKA_SSL_CERTFILE",
  "KAFKA_SSL_KEYFILE",
  "KAFKA_SASL_MECHANISM",
  "KAFKA_SASL_USERNAME",
  "KAFKA_SASL_PASSWORD",
] as const;

/** Environment variables kafkajs itself reads (NODE_ENV as it loads), which its users must allow. */
export const KAFKAJS_ENV_VARS = [
  "NODE_ENV",
  "KAFKAJS_LOG_LEVEL",
  "KAFKAJS_NO_PARTITIONER_WARNING",
  "KAFKAJS_DEBUG_PROTOCOL_BUFFERS",
  "KAFKAJS_DEBUG_EXTENDED_PROTOCOL_BUFFERS",
] as const;

/** parseArgs option specs for the Kafka flags. */
export const KAFKA_FLAG_SPECS = {
  brokers: { type: "string" },
  topic: { type: "string" },
  "client-id": { type: "string" },
  "security-protocol": { type: "string" },
  "ssl-cafile": { type: "string" },
  "ssl-certfile": { type: "string" },
  "ssl-keyfile": { type: "string" },
  "sasl-mechanism": { type: "string" },
  "sasl-username": { type: "string" },
} as const;

/** The `--help` lines for the Kafka flags. */
export const KAFKA_FLAGS_HELP = `Kafka:
      --brokers LIST           Comma-separated host:port list (env KAFKA_BROKERS; default localhost:9092)
      --topic NAME             Topic of the check results (env KAFKA_TOPIC; default checks)
      --client-id ID           Kafka client id (env KAFKA_CLIENT_ID)
      --security-protocol P    PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (env KAFKA_SECURITY_PROTOCOL;
                               default PLAINTEXT, or SSL when certificate files are given)
      --ssl-cafile FILE        CA certificate (PEM) to trust for the brokers (env KAFKA_SSL_CAFILE)
      --ssl-certfile FILE      Client certificate (PEM) (env KAFKA_SSL_CERTFILE)
      --ssl-keyfile FILE       Client private key (PEM) (env KAFKA_SSL_KEYFILE)
      --sasl-mechanism M       plain, scram-sha-256 or scram-sha-512 (env KAFKA_SASL_MECHANISM; default plain)
      --sasl-username USER     SASL user name (env KAFKA_SASL_USERNAME); the password is read only
                               from the environment variable KAFKA_SASL_PASSWORD`;

const PROTOCOLS: readonly string[] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
const MECHANISMS: readonly string[] = ["plain", "scram-sha-256", "scram-sha-512"];

/** Flags win over environment variables; throws UsageError naming the bad flag. */
export function resolveKafkaOptions(
  values: { [K in keyof typeof KAFKA_FLAG_SPECS]?: string },
  env: Record<string, string | undefined>,
  defaultClientId: string,
): { kafka: KafkaOptions; topic: string } {
  const brokers = (values.brokers ?? env.KAFKA_BROKERS ?? "localhost:9092")
    .split(",").map((b) => b.trim()).filter((b) => b !== "");
  if (brokers.length === 0) throw new UsageError("--brokers names no broker: expected host:port");
  for (const broker of brokers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(broker) && !/^\[[0-9a-f:]+\]:\d{1,5}$/i.test(broker)) {
      throw new UsageError(`Cannot use broker "${broker}": expected host:port`);
    }
  }
  const topic = values.topic ?? env.KAFKA_TOPIC ?? "checks";
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
    throw new UsageError(`Cannot use topic "${topic}": expected letters, digits, ".", "_" or "-"`);
  }
  const sslCaFile = values["ssl-cafile"] ?? env.KAFKA_SSL_CAFILE;
  const sslCertFile = values["ssl-certfile"] ?? env.KAFKA_SSL_CERTFILE;
  const sslKeyFile = values["ssl-keyfile"] ?? env.KAFKA_SSL_KEYFILE;
  if ((sslCertFile === undefined) !== (sslKeyFile === undefined)) {
    throw new UsageError("--ssl-certfile and --ssl-keyfile go together: give both or neither");
  }
  const protocol = (values["security-protocol"] ?? env.KAFKA_SECURITY_PROTOCOL ??
    (sslCaFile || sslCertFile ? "SSL" : "PLAINTEXT")).toUpperCase();
  if (!PROTOCOLS.includes(protocol)) {
    throw new UsageError(
      `Cannot use --security-protocol "${protocol}": expected ${PROTOCOLS.join(", ")}`,
    );
  }
  let sasl: KafkaOptions["sasl"];
  if (protocol.startsWith("SASL_")) {
    const mechanism = (values["sasl-mechanism"] ?? env.KAFKA_SASL_MECHANISM ?? "plain")
      .toLowerCase();
    if (!MECHANISMS.includes(mechanism)) {
      throw new UsageError(
        `Cannot use --sasl-mechanism "${mechanism}": expected ${MECHANISMS.join(", ")}`,
      );
    }
    const username = values["sasl-username"] ?? env.KAFKA_SASL_USERNAME;
    if (!username) throw new UsageError(`--security-protocol ${protocol} needs --sasl-username`);
    const password = env.KAFKA_SASL_PASSWORD;
    if (!password) {
      throw new UsageError(
        `--security-protocol ${protocol} needs the environment variable KAFKA_SASL_PASSWORD`,
      );
    }
    sasl = { mechanism: mechanism as SaslMechanism, username, password };
  }
  return {
    topic,
    kafka: {
      brokers,
      clientId: values["client-id"] ?? env.KAFKA_CLIENT_ID ?? defaultClientId,
      securityProtocol: protocol as SecurityProtocol,
      sslCaFile,
      sslCertFile,
      sslKeyFile,
      sasl,
    },
  };
}

/** The kafkajs client config for the options, reading the certificate files. */
export async function kafkaClientConfig(
  options: KafkaOptions,
  readTextFile: (path: string) => Promise<string>,
): Promise<KafkaConfig> {
  const read = async (path: string | undefined, what: string) => {
    if (path === undefined) return undefined;
    try {
      return await readTextFile(path);
    } catch (cause) {
      throw new Error(`Cannot read ${what} ${path}: ${(cause as Error).message}`, { cause });
    }
  };
  const useSsl = options.securityProtocol === "SSL" || options.securityProtocol === "SASL_SSL";
  const ca = await read(options.sslCaFile, "--ssl-cafile");
  const cert = await read(options.sslCertFile, "--ssl-certfile");
  const key = await read(options.sslKeyFile, "--ssl-keyfile");
  return {
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: useSsl ? { ca: ca ? [ca] : undefined, cert, key, rejectUnauthorized: true } : false,
    sasl: options.sasl as SASLOptions | undefined,
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
  };
}

/** A description of the connection for logs: brokers and protocol, never credentials. */
export function describeKafka(options: KafkaOptions): string {
  const user = options.sasl ? ` as ${options.sasl.username} (${options.sasl.mechanism})` : "";
  return `${options.brokers.join(",")} ${options.securityProtocol}${user}`;
}

/**
 * A warning when the private key file can be read by users other than its owner (mode bits for
 * group or others set), or null. `stat` returns the file's mode, or null when it has none.
 */
export async function keyFileWarning(
  path: string | undefined,
  stat: (path: string) => Promise<number | null>,
): Promise<string | null> {
  if (path === undefined) return null;
  const mode = await stat(path).catch(() => null);
  if (mode === null || (mode & 0o077) === 0) return null;
  return `private key file ${path} is readable by other users (mode ${
    (mode & 0o777).toString(8)
  }): ` +
    `restrict it with chmod 600`;
}

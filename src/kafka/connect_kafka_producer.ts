/**
 * A connected, idempotent kafkajs producer for the results topic, with the topic created when it
 * is missing and the broker allows it.
 *
 * @module
 */
import {
  type Admin,
  CompressionTypes,
  Kafka,
  type LogEntry,
  logLevel as kafkaLogLevel,
  Partitioners,
} from "kafkajs";
import type { Logger } from "../log/logger.ts";
import { describeKafka, kafkaClientConfig, type KafkaOptions } from "./kafka_options.ts";
import type { KeyedMessage, MessageSender } from "./result_publisher.ts";

/** Producer settings. */
export interface ProducerOptions {
  topic: string;
  /** Partitions of the topic when this producer creates it. */
  partitions: number;
  compression: "none" | "gzip";
}

/** A sender for the publisher, and how to disconnect it. */
export interface KafkaProducerHandle {
  sender: MessageSender;
  disconnect(): Promise<void>;
}

/** Routes kafkajs log entries into our logger (its ERRORs are mostly retried, so warn). */
export function kafkaLogCreator(logger: Logger): () => (entry: LogEntry) => void {
  return () => ({ level, log }) => {
    // The stack of a connection error says nothing an operator can act on.
    const { message, timestamp: _timestamp, logger: _logger, stack: _stack, ...fields } = log;
    const text = `kafka: ${message}`;
    // Retries are limited on purpose: the publisher resends a failed batch itself, and the
    // writer drops the duplicates a resend can cause (check_id is unique), so this is noise.
    const expected = message.startsWith("Limiting retries for the idempotent producer");
    if (level <= kafkaLogLevel.WARN && !expected) logger.warn(text, fields);
    else logger.debug(text, fields);
  };
}

/** Creates the topic unless it exists; throws an Error that says what to do when it cannot. */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  logger: Logger,
): Promise<"exists" | "created"> {
  const topics = await admin.listTopics();
  if (topics.includes(topic)) return "exists";
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions }],
      waitForLeaders: true,
    });
  } catch (cause) {
    throw new Error(
      `Topic "${topic}" does not exist and cannot be created (${(cause as Error).message}): ` +
        `create it on the broker, or allow this client to create topics`,
      { cause },
    );
  }
  logger.info("created topic", { topic, partitions });
  return "created";
}

/** Connects an idempotent producer (acks=all) and makes sure the topic exists. */
export async function connectKafkaProducer(
  kafkaOptions: KafkaOptions,
  options: ProducerOptions,
  deps: { logger: Logger; readTextFile: (path: string) => Promise<string> },
): Promise<KafkaProducerHandle> {
  const config = await kafkaClientConfig(kafkaOptions, deps.readTextFile);
  const kafka = new Kafka({
    ...config,
    logLevel: kafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(deps.logger),
  });
  const where = describeKafka(kafkaOptions);
  const admin = kafka.admin();
  try {
    await admin.connect();
    await ensureTopic(admin, options.topic, options.partitions, deps.logger);
  } catch (cause) {
    throw new Error(`Cannot use Kafka at ${where}: ${(cause as Error).message}`, { cause });
  } finally {
    await admin.disconnect().catch(() => {});
  }
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
  await producer.connect();
  deps.logger.info("connected to Kafka", { brokers: where, topic: options.topic });
  const compression = options.compression === "gzip"
    ? CompressionTypes.GZIP
    : CompressionTypes.None;
  return {
    sender: {
      async send(topic: string, messages: KeyedMessage[]) {
        await producer.send({ topic, messages, acks: -1, compression });
      },
    },
    disconnect: () => producer.disconnect(),
  };
}

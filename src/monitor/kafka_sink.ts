/**
 * A result sink that publishes to Kafka: messages keyed by target id, batched and buffered by a
 * ResultPublisher over an idempotent producer.
 *
 * @module
 */
import { connectKafkaProducer } from "../kafka/connect_kafka_producer.ts";
import type { KafkaOptions } from "../kafka/kafka_options.ts";
import { ResultPublisher } from "../kafka/result_publisher.ts";
import type { Logger } from "../log/logger.ts";
import type { ResultSink } from "./run_monitor.ts";

/** Kafka output settings. */
export interface KafkaSinkOptions {
  kafka: KafkaOptions;
  topic: string;
  partitions: number;
  compression: "none" | "gzip";
  maxBuffered: number;
}

/** Connects to Kafka (creating the topic if needed) and returns the sink and its publisher. */
export async function createKafkaSink(
  options: KafkaSinkOptions,
  deps: { logger: Logger; readTextFile: (path: string) => Promise<string> },
): Promise<ResultSink & { publisher: ResultPublisher }> {
  const producer = await connectKafkaProducer(options.kafka, options, deps);
  const publisher = new ResultPublisher(producer.sender, {
    topic: options.topic,
    maxBuffered: options.maxBuffered,
    batchSize: 1_000,
    lingerMs: 20,
  }, deps.logger);
  return {
    publisher,
    publish(result) {
      publisher.publish({ key: result.target_id, value: JSON.stringify(result) });
    },
    stats: () => ({
      buffered: publisher.buffered,
      dropped: publisher.stats.dropped,
      sent: publisher.stats.sent,
    }),
    problem: () => publisher.lastError && `sending to Kafka fails: ${publisher.lastError}`,
    async close(timeoutMs) {
      const left = await publisher.close(timeoutMs);
      await producer.disconnect().catch(() => {});
      deps.logger.info("Kafka publisher closed", { ...publisher.stats, undelivered: left });
      return left;
    },
  };
}

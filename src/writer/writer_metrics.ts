/**
 * The writer's Prometheus metrics: rows inserted, duplicates, dead letters, batch size and
 * duration, consumer lag per partition and the daily partitions present.
 *
 * @module
 */
import { MetricsRegistry } from "../metrics/metrics_registry.ts";

const SIZE_BOUNDS = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const DURATION_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Records what the writer does into a registry. */
export interface WriterMetrics {
  readonly registry: MetricsRegistry;
  /** One stored batch: its messages, what it inserted, set aside, and how long storing took. */
  batch(
    b: {
      messages: number;
      inserted: number;
      duplicates: number;
      deadLetters: number;
      seconds: number;
    },
  ): void;
  /** Messages of a partition not yet stored: high watermark minus the next offset to consume. */
  lag(topic: string, partition: number, messages: number): void;
  /** Times a store was retried while PostgreSQL was away. */
  retried(): void;
  /** Daily partitions of `checks` present. */
  partitions(count: number): void;
}

/** Creates the writer's metrics. */
export function createWriterMetrics(): WriterMetrics {
  const registry = new MetricsRegistry();
  const messages = registry.counter(
    "availability_writer_messages_total",
    "Kafka messages handled (stored, duplicate or dead letter)",
  );
  const inserted = registry.counter(
    "availability_writer_rows_inserted_total",
    "Rows inserted into checks (replays not counted)",
  );
  const duplicates = registry.counter(
    "availability_writer_duplicates_total",
    "Checks already stored when they arrived again (redelivery after a restart or rebalance)",
  );
  const dead = registry.counter(
    "availability_writer_dead_letters_total",
    "Messages set aside in dead_letters",
  );
  const retries = registry.counter(
    "availability_writer_store_retries_total",
    "Retries of a database write while PostgreSQL was unavailable",
  );
  const size = registry.histogram(
    "availability_writer_batch_size",
    "Messages per stored batch",
    SIZE_BOUNDS,
  );
  const duration = registry.histogram(
    "availability_writer_batch_duration_seconds",
    "Time to store one batch in PostgreSQL, retries included",
    DURATION_BOUNDS,
  );
  const lag = registry.gauge(
    "availability_writer_consumer_lag",
    "Messages of a partition not yet stored, as of the latest batch from it",
    ["topic", "partition"],
  );
  const partitions = registry.gauge(
    "availability_writer_partitions",
    "Daily partitions of the checks table",
  );
  return {
    registry,
    batch(b) {
      messages.inc(undefined, b.messages);
      inserted.inc(undefined, b.inserted);
      duplicates.inc(undefined, b.duplicates);
      dead.inc(undefined, b.deadLetters);
      size.observe(undefined, b.messages);
      duration.observe(undefined, b.seconds);
    },
    lag: (topic, partition, count) => lag.set({ topic, partition }, count),
    retried: () => retries.inc(),
    partitions: (count) => partitions.set(undefined, count),
  };
}

/**
 * The writer: consumes the results topic in a consumer group and stores each batch in one
 * PostgreSQL transaction, committing the batch's Kafka offsets only after that transaction has
 * committed. With idempotent rows (ON CONFLICT DO NOTHING on the check id), at-least-once delivery
 * stores each check exactly once.
 *
 * While PostgreSQL is down or failing the writer holds the batch, retries with backoff and keeps
 * its group membership alive with heartbeats; nothing is committed until the rows are in.
 *
 * @module
 */
import type { Pool } from "@neondatabase/serverless";
import { Kafka, type KafkaConfig, logLevel as kafkaLogLevel } from "kafkajs";
import { migrate } from "../db/migrate.ts";
import {
  clusterClosedPartitions,
  dropExpiredPartitions,
  ensurePartitions,
  listPartitionDays,
  utcDay,
} from "../db/partitions.ts";
import { type DeadLetter, storeBatch } from "../db/store_batch.ts";
import { ensureTopic, kafkaLogCreator } from "../kafka/connect_kafka_producer.ts";
import type { Logger } from "../log/logger.ts";
import { type CheckRow, parseCheckMessage } from "./parse_check_message.ts";
import type { WriterConfig } from "./writer_config.ts";
import { createWriterMetrics, type WriterMetrics } from "./writer_metrics.ts";

/** Collaborators of the writer. */
export interface WriterDeps {
  pool: Pool;
  logger: Logger;
  kafkaConfig: KafkaConfig;
  now?: () => number;
  /** How often partitions are re-checked and retention applied (default: hourly). */
  maintenanceIntervalMs?: number;
}

/** Counters of a writer run. */
export interface WriterStats {
  batches: number;
  messages: number;
  inserted: number;
  duplicates: number;
  deadLetters: number;
  storeRetries: number;
}

/** A message of a batch, as kafkajs hands it over. */
export interface BatchMessage {
  offset: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

/** An error that retrying will not fix: wrong password, no such database, unknown host. */
export class DatabaseConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseConfigError";
  }
}

const DAY_MS = 86_400_000;
// SQLSTATE classes and codes that mean "fix the settings", not "wait".
const CONFIG_SQLSTATES = ["28000", "28P01", "3D000", "42501"];

/** True when an error from the driver means the settings are wrong rather than the server away. */
export function isConfigError(error: unknown): boolean {
  const e = error as { code?: string; message?: string; name?: string };
  // A missing permission of the runtime is a deployment mistake, not an outage.
  if (e?.name === "NotCapable" || e?.name === "PermissionDenied") return true;
  if (e?.code && CONFIG_SQLSTATES.includes(e.code)) return true;
  if (e?.code === "ENOTFOUND" || e?.code === "EAI_NONAME") return true;
  return /does not support SSL|certificate|self.signed|altname/i.test(e?.message ?? "");
}

/** A writer (see the module comment). */
export interface Writer {
  /** Runs until `signal` aborts: schema, partitions, then consuming. */
  run(signal: AbortSignal): Promise<void>;
  /** Parses and stores one batch; settles once its rows are committed (or on abort). */
  handleBatch(
    topic: string,
    partition: number,
    messages: BatchMessage[],
    signal: AbortSignal,
    heartbeat: () => Promise<void>,
  ): Promise<void>;
  /** Creates partitions ahead, applies retention, refreshes the known days. */
  maintain(): Promise<void>;
  /** Applies migrations, retrying while the database is unreachable. */
  prepareSchema(signal: AbortSignal): Promise<void>;
  /** Why the writer is not consuming from Kafka now, or null while it is (for /readyz). */
  kafkaProblem(): string | null;
  readonly stats: WriterStats;
  readonly metrics: WriterMetrics;
}

/** Wires a writer from its config and collaborators. */
export function createWriter(config: WriterConfig, deps: WriterDeps): Writer {
  const { pool, logger } = deps;
  const now = deps.now ?? Date.now;
  const stats: WriterStats = {
    batches: 0,
    messages: 0,
    inserted: 0,
    duplicates: 0,
    deadLetters: 0,
    storeRetries: 0,
  };
  const knownDays = new Set<number>();
  const metrics = createWriterMetrics();
  let kafkaState: string | null = "not connected to Kafka yet";
  let lastFetch = 0;

  /** Applies migrations, retrying while the database is unreachable. */
  async function prepareSchema(signal: AbortSignal): Promise<void> {
    await retrying("prepare the schema", signal, async () => {
      const applied = await migrate(pool);
      if (applied.length > 0) logger.info("schema migrated", { applied });
    });
  }

  /** Creates the partitions ahead, drops expired ones, refreshes the cache of known days. */
  async function maintain(): Promise<void> {
    const today = utcDay(now());
    const days = Array.from({ length: config.partitionsAhead + 1 }, (_, i) => today + i * DAY_MS);
    const created = await ensurePartitions(pool, days);
    if (created.length > 0) logger.info("partitions created", { days: created.map(isoDay) });
    if (config.retentionDays !== null) {
      const dropped = await dropExpiredPartitions(pool, config.retentionDays, now());
      if (dropped.length > 0) {
        logger.info("partitions dropped (retention)", { days: dropped.map(isoDay) });
      }
    }
    knownDays.clear();
    for (const day of await listPartitionDays(pool)) knownDays.add(day);
    metrics.partitions(knownDays.size);
  }

  /** Reorders a few closed partitions by target (see clusterClosedPartitions); not at start-up. */
  async function reorder(): Promise<void> {
    // A few per hourly pass, so a backlog clears within a day without long pauses.
    const clustered = await clusterClosedPartitions(pool, now(), { limit: 3 });
    if (clustered.length > 0) {
      logger.info("partitions reordered by target (CLUSTER)", {
        days: clustered.map((c) => isoDay(c.day)),
        seconds: clustered.map((c) => Math.round(c.seconds * 10) / 10),
      });
    }
  }

  /** Parses a batch and stores it; settles only once the rows are committed (or on abort). */
  async function handleBatch(
    topic: string,
    partition: number,
    messages: BatchMessage[],
    signal: AbortSignal,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const rows: CheckRow[] = [];
    const deadLetters: DeadLetter[] = [];
    for (const message of messages) {
      const parsed = parseCheckMessage(message.value);
      if ("row" in parsed) rows.push(parsed.row);
      else {
        deadLetters.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          reason: parsed.reason,
        });
        logger.warn("message set aside in dead_letters", {
          topic,
          partition,
          offset: message.offset,
          reason: parsed.reason,
        });
      }
    }
    const started = performance.now();
    const result = await retrying("store a batch", signal, async () => {
      const missing = new Set(
        rows.map((row) => utcDay(row.checkedAt.getTime())).filter((day) => !knownDays.has(day)),
      );
      if (missing.size > 0) {
        const created = await ensurePartitions(pool, missing);
        if (created.length > 0) {
          logger.info("partitions created on demand", { days: created.map(isoDay) });
        }
        for (const day of missing) knownDays.add(day);
        metrics.partitions(knownDays.size);
      }
      try {
        return await storeBatch(pool, rows, deadLetters);
      } catch (error) {
        // A partition dropped or never seen by this writer: forget what we knew and look again.
        if (/no partition of relation/i.test((error as Error).message)) knownDays.clear();
        throw error;
      }
    }, heartbeat);
    stats.batches++;
    stats.messages += messages.length;
    stats.inserted += result.inserted;
    stats.duplicates += rows.length - result.inserted;
    stats.deadLetters += deadLetters.length;
    metrics.batch({
      messages: messages.length,
      inserted: result.inserted,
      duplicates: rows.length - result.inserted,
      deadLetters: deadLetters.length,
      seconds: (performance.now() - started) / 1000,
    });
    logger.debug("batch stored", {
      topic,
      partition,
      messages: messages.length,
      inserted: result.inserted,
    });
  }

  async function retrying<T>(
    what: string,
    signal: AbortSignal,
    attempt: () => Promise<T>,
    heartbeat?: () => Promise<void>,
  ): Promise<T> {
    let delay = 250;
    while (true) {
      try {
        return await attempt();
      } catch (error) {
        if (isConfigError(error)) {
          throw new DatabaseConfigError((error as Error).message, { cause: error });
        }
        if (signal.aborted) throw error;
        stats.storeRetries++;
        metrics.retried();
        logger.warn(`cannot ${what}; PostgreSQL unavailable, retrying`, {
          error: (error as Error).message,
          retry_in_ms: delay,
        });
        const until = Date.now() + delay;
        // Heartbeats keep this writer in its group while it waits.
        while (Date.now() < until && !signal.aborted) {
          await heartbeat?.().catch(() => {});
          await abortableSleep(Math.min(1_000, until - Date.now()), signal);
        }
        if (signal.aborted) throw new Error(`stopped while waiting to ${what}`, { cause: error });
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  /** Runs until `signal` aborts: schema, partitions, then consuming. */
  async function run(signal: AbortSignal): Promise<void> {
    await prepareSchema(signal);
    if (signal.aborted) return;
    await retrying("create partitions", signal, maintain);
    const maintenance = setInterval(() => {
      maintain().then(reorder).catch((error) =>
        logger.warn("partition maintenance failed; will retry", { error: (error as Error).message })
      );
    }, deps.maintenanceIntervalMs ?? 3_600_000);

    const kafka = new Kafka({
      ...deps.kafkaConfig,
      logLevel: kafkaLogLevel.WARN,
      logCreator: kafkaLogCreator(logger),
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await ensureTopic(admin, config.topic, config.topicPartitions, logger);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    const consumer = kafka.consumer({
      groupId: config.groupId,
      // After a broker restart a writer rejoins once its old membership has expired: a shorter
      // session brings it back sooner. A stall longer than this only causes a rebalance and a
      // redelivery, which the idempotent insert absorbs.
      sessionTimeout: 15_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 2 * 1024 * 1024,
      maxBytes: 8 * 1024 * 1024,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 30_000 },
    });
    let failure: unknown;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      kafkaState = null;
      lastFetch = Date.now();
    });
    consumer.on(consumer.events.FETCH, () => (lastFetch = Date.now()));
    consumer.on(consumer.events.STOP, () => (kafkaState = "consumer stopped"));
    const failed = new Promise<void>((resolve) => {
      consumer.on(consumer.events.CRASH, (event) => {
        const error = event.payload.error;
        kafkaState = `consumer crashed (${(error as Error).message}); ${
          event.payload.restart ? "rejoining" : "not restarting"
        }`;
        if (error instanceof DatabaseConfigError || !event.payload.restart) {
          failure = error;
          resolve();
        }
      });
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: config.topic, fromBeginning: true });
      await consumer.run({
        // Several partitions at once, so fetching and parsing overlap with PostgreSQL inserts.
        partitionsConsumedConcurrently: 3,
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (batch.messages.length === 0 || !isRunning() || isStale()) return;
          await handleBatch(batch.topic, batch.partition, batch.messages, signal, heartbeat);
          const last = batch.messages[batch.messages.length - 1]!.offset;
          const behind = BigInt(batch.highWatermark) - BigInt(last) - 1n;
          metrics.lag(batch.topic, batch.partition, Number(behind < 0n ? 0n : behind));
          resolveOffset(last);
          // Only now, with the rows committed, does the group's position move past them.
          await consumer.commitOffsets([{
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(last) + 1n).toString(),
          }]);
        },
      });
      logger.info("consuming", { topic: config.topic, group: config.groupId });
      await Promise.race([
        new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true })),
        failed,
      ]);
    } finally {
      clearInterval(maintenance);
      await consumer.disconnect().catch(() => {});
    }
    if (failure) throw failure;
    logger.info("writer stopped", { ...stats });
  }

  function kafkaProblem(): string | null {
    if (kafkaState !== null) return kafkaState;
    // kafkajs fetches at least every few seconds even when the topic is quiet, and not while a
    // batch waits for PostgreSQL (which /readyz reports on its own).
    const silent = Date.now() - lastFetch;
    return silent > 30_000 ? `no fetch from Kafka for ${Math.round(silent / 1000)} s` : null;
  }

  return { run, handleBatch, maintain, prepareSchema, kafkaProblem, stats, metrics };
}

function isoDay(day: number): string {
  return new Date(day).toISOString().slice(0, 10);
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener("abort", done);
  });
}

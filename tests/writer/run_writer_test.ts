/**
 * The writer against the real broker and the real PostgreSQL, a fresh database per test.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Pool } from "@neondatabase/serverless";
import { createPool } from "../../src/db/create_pool.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import {
  ensurePartitions,
  listPartitionDays,
  partitionName,
  utcDay,
} from "../../src/db/partitions.ts";
import { createLogger } from "../../src/log/logger.ts";
import { createWriter } from "../../src/writer/run_writer.ts";
import type { WriterConfig } from "../../src/writer/writer_config.ts";
import {
  checkMessage,
  eventually,
  KAFKA_BROKERS,
  produce,
  startTestWriter,
  uniqueName,
  withTempDatabase,
} from "../_helpers.ts";

const DAY = 86_400_000;
const SLOW = { sanitizeOps: false, sanitizeResources: false };

async function count(pool: Pool, sql: string): Promise<number> {
  return Number((await pool.query(sql)).rows[0].count);
}

async function withDb(fn: (uri: string, pool: Pool) => Promise<void>) {
  await withTempDatabase(async (uri) => {
    const pool = await createPool(uri);
    // Idle connections that a server restart cuts must not crash the test process.
    pool.on("error", () => {});
    try {
      await fn(uri, pool);
    } finally {
      await pool.end();
    }
  });
}

Deno.test({
  name: "the writer stores produced messages as rows with every field intact",
  ...SLOW,
  async fn() {
    await withDb(async (uri, pool) => {
      const topic = uniqueName("writer_roundtrip");
      const messages = Array.from({ length: 50 }, (_, i) =>
        checkMessage({
          target_id: `target-${i % 5}`,
          name: `site ${i} '; DROP TABLE checks; --`,
          status: i % 7 === 0 ? null : 200 + (i % 3),
          tls_ms: i % 2 ? 3.5 : null,
          regex_match: i % 3 === 0 ? null : i % 3 === 1,
          ok: i % 7 !== 0,
          error: i % 7 === 0 ? { kind: "timeout", message: `no answer ${i}` } : null,
          redirects: i % 4,
          bytes: i * 1000,
        }));
      await produce(
        topic,
        messages.map((m) => ({ key: m.target_id as string, value: JSON.stringify(m) })),
      );
      const writer = await startTestWriter(uri, topic);
      try {
        await eventually(
          async () => (await count(pool, "SELECT count(*) FROM checks")) === 50,
          "50 rows",
        );
      } finally {
        await writer.stop();
      }
      const { rows } = await pool.query("SELECT * FROM checks");
      const byId = new Map(rows.map((row) => [row.check_id, row]));
      for (const m of messages) {
        const row = byId.get(m.check_id);
        assert.ok(row, `no row for ${m.check_id}`);
        assert.equal(row.checked_at.toISOString(), m.started_at);
        assert.equal(row.scheduled_at.toISOString(), m.scheduled_at);
        for (
          const field of [
            "target_id",
            "name",
            "url",
            "method",
            "location",
            "monitor",
            "status",
            "dns_ms",
            "connect_ms",
            "tls_ms",
            "ttfb_ms",
            "total_ms",
            "redirects",
            "final_url",
            "regex_match",
            "ok",
          ]
        ) {
          assert.equal(row[field], m[field], `${field} of ${m.check_id}`);
        }
        assert.equal(Number(row.bytes), m.bytes);
        assert.equal(row.tls_expires_at.toISOString(), m.tls_expires_at);
        const error = m.error as { kind: string; message: string } | null;
        assert.equal(row.error_kind, error?.kind ?? null);
        assert.equal(row.error_message, error?.message ?? null);
      }
    });
  },
});

Deno.test({
  name: "the writer stores a message delivered twice, and a replayed batch, once",
  ...SLOW,
  async fn() {
    await withDb(async (uri, pool) => {
      const topic = uniqueName("writer_dupes");
      const messages = Array.from({ length: 20 }, () => checkMessage());
      const batch = messages.map((m) => ({ key: m.target_id as string, value: JSON.stringify(m) }));
      // The first message twice in one batch, then the whole batch again.
      await produce(topic, [batch[0]!, ...batch]);
      await produce(topic, batch);
      const first = await startTestWriter(uri, topic);
      try {
        await eventually(() => first.writer.stats.messages === 41, "41 messages consumed");
      } finally {
        await first.stop();
      }
      assert.equal(await count(pool, "SELECT count(*) FROM checks"), 20);
      assert.equal(first.writer.stats.duplicates, 21);
      // A second group replays the whole topic: nothing new.
      const replay = await startTestWriter(uri, topic);
      try {
        await eventually(() => replay.writer.stats.messages === 41, "replay consumed");
      } finally {
        await replay.stop();
      }
      assert.equal(await count(pool, "SELECT count(*) FROM checks"), 20);
      assert.equal(replay.writer.stats.inserted, 0);
    });
  },
});

Deno.test({
  name:
    "the writer puts yesterday's, today's and a date 40 days ahead in their own partitions, created on demand",
  ...SLOW,
  async fn() {
    await withDb(async (uri, pool) => {
      const topic = uniqueName("writer_days");
      const now = Date.now();
      const times = [now - DAY, now, now + 40 * DAY].map((t) => new Date(t).toISOString());
      await produce(
        topic,
        times.map((t) => ({ value: JSON.stringify(checkMessage({ started_at: t })) })),
      );
      const writer = await startTestWriter(uri, topic, { partitionsAhead: 1 });
      try {
        await eventually(
          async () => (await count(pool, "SELECT count(*) FROM checks")) === 3,
          "3 rows",
        );
      } finally {
        await writer.stop();
      }
      const { rows } = await pool.query(
        "SELECT tableoid::regclass::text AS part, checked_at FROM checks ORDER BY checked_at",
      );
      assert.deepEqual(
        rows.map((r) => r.part),
        times.map((t) => partitionName(utcDay(Date.parse(t)))),
      );
      const days = await listPartitionDays(pool);
      assert.ok(days.includes(utcDay(now - DAY)), "yesterday's partition was created on demand");
      assert.ok(
        days.includes(utcDay(now + 40 * DAY)),
        "the partition 40 days ahead was created on demand",
      );
      assert.ok(!days.includes(utcDay(now + 20 * DAY)), "no partitions between were made");
      const { rows: defaults } = await pool.query(
        "SELECT count(*) FROM pg_partitioned_table WHERE partdefid <> 0",
      );
      assert.equal(Number(defaults[0].count), 0, "a DEFAULT partition exists");
    });
  },
});

Deno.test("retention drops exactly the partitions past the limit and nothing else", async () => {
  await withDb(async (uri, pool) => {
    await migrate(pool);
    const today = utcDay(Date.now());
    await ensurePartitions(pool, Array.from({ length: 12 }, (_, i) => today - i * DAY));
    const writer = createWriter(
      { dbUri: uri, retentionDays: 5, partitionsAhead: 3 } as WriterConfig,
      {
        pool,
        logger: createLogger({ level: "error", json: true, write: () => {} }),
        kafkaConfig: { brokers: KAFKA_BROKERS },
      },
    );
    await writer.maintain();
    const days = await listPartitionDays(pool);
    const expected = Array.from({ length: 9 }, (_, i) => today + (i - 5) * DAY);
    assert.deepEqual(days, expected, "kept: the last 5 days, today and 3 ahead");
  });
});

Deno.test("concurrent migrations and partition creation by several writers do not race", async () => {
  await withDb(async (uri, pool) => {
    const pools = await Promise.all([1, 2, 3].map(() => createPool(uri, { max: 2 })));
    try {
      const applied = await Promise.all(pools.map((p) => migrate(p)));
      assert.deepEqual(
        applied.flat(),
        MIGRATIONS.map((m) => m.version),
        "each migration ran exactly once",
      );
      const day = utcDay(Date.now()) + 100 * DAY;
      const created = await Promise.all(pools.map((p) => ensurePartitions(p, [day, day + DAY])));
      assert.equal(created.flat().length, 2);
      assert.equal(
        await count(pool, "SELECT count(*) FROM schema_migrations"),
        MIGRATIONS.length,
      );
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});

Deno.test({
  name:
    "the writer sets bad messages aside in dead_letters with their offsets and stores the good ones around them",
  ...SLOW,
  async fn() {
    await withDb(async (uri, pool) => {
      const topic = uniqueName("writer_bad");
      const good = [checkMessage(), checkMessage(), checkMessage()];
      // One partition, so the offsets below are the order of this list.
      const { Kafka, logLevel } = await import("kafkajs");
      const admin = new Kafka({ brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();
      await produce(topic, [
        { value: JSON.stringify(good[0]) },
        { value: "this is not JSON" },
        { value: JSON.stringify({ ...checkMessage(), v: 2 }) },
        { value: JSON.stringify(good[1]) },
        { value: JSON.stringify({ ...checkMessage(), status: "two hundred" }) },
        { value: null },
        { value: JSON.stringify(good[2]) },
      ]);
      const writer = await startTestWriter(uri, topic);
      try {
        await eventually(() => writer.writer.stats.messages === 7, "7 messages consumed");
        // Still running: a later good message is stored too.
        const late = checkMessage();
        await produce(topic, [{ value: JSON.stringify(late) }]);
        await eventually(
          async () => (await count(pool, "SELECT count(*) FROM checks")) === 4,
          "4 rows",
        );
      } finally {
        await writer.stop();
      }
      const { rows } = await pool.query(
        `SELECT topic, partition, "offset", reason, value FROM dead_letters ORDER BY "offset"`,
      );
      assert.deepEqual(rows.map((r) => [r.topic, r.partition, Number(r.offset)]), [
        [topic, 0, 1],
        [topic, 0, 2],
        [topic, 0, 4],
        [topic, 0, 5],
      ]);
      assert.match(rows[0].reason, /^not JSON/);
      assert.equal(new TextDecoder().decode(rows[0].value), "this is not JSON");
      assert.match(rows[1].reason, /unsupported schema version 2/);
      assert.match(rows[2].reason, /invalid field status/);
      assert.match(rows[3].reason, /empty message/);
      const ids = (await pool.query("SELECT check_id FROM checks")).rows.map((r) => r.check_id);
      for (const m of good) assert.ok(ids.includes(m.check_id));
    });
  },
});

Deno.test({
  name: "the writer rides out a PostgreSQL restart and loses no message",
  ...SLOW,
  async fn() {
    await withDb(async (uri, pool) => {
      const topic = uniqueName("writer_pg_restart");
      const writer = await startTestWriter(uri, topic);
      const total = 300;
      try {
        let sent = 0;
        const producing = (async () => {
          while (sent < total) {
            await produce(
              topic,
              Array.from({ length: 10 }, () => ({ value: JSON.stringify(checkMessage()) })),
            );
            sent += 10;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })();
        await eventually(() => writer.writer.stats.inserted > 0, "first rows");
        const restart = await pgCtl("restart");
        assert.equal(restart.code, 0, restart.stderr);
        await producing;
        await eventually(
          async () => {
            try {
              return (await count(pool, "SELECT count(*) FROM checks")) === total;
            } catch {
              return false;
            }
          },
          `${total} rows after the restart`,
          60_000,
        );
      } finally {
        await writer.stop();
        // Whatever happened above, leave the server running for the tests after this one.
        await pgCtl("start");
      }
    });
  },
});

async function pgCtl(action: "restart" | "start"): Promise<{ code: number; stderr: string }> {
  const version = [...Deno.readDirSync("/etc/postgresql")].map((e) => e.name).sort().pop()!;
  const { code, stderr } = await new Deno.Command("pg_ctlcluster", {
    args: ["--skip-systemctl-redirect", version, "main", action],
    stdout: "null",
    stderr: "piped",
  }).output();
  // "start" on a running cluster exits 2 ("already running"), which is fine here.
  return {
    code: action === "start" && code === 2 ? 0 : code,
    stderr: new TextDecoder().decode(stderr),
  };
}

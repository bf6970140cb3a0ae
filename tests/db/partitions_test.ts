import assert from "node:assert/strict";
import { createPool } from "../../src/db/create_pool.ts";
import { migrate } from "../../src/db/migrate.ts";
import { clusterClosedPartitions, ensurePartitions, utcDay } from "../../src/db/partitions.ts";
import { storeBatch } from "../../src/db/store_batch.ts";
import { parseCheckMessage } from "../../src/writer/parse_check_message.ts";
import type { CheckRow } from "../../src/writer/parse_check_message.ts";
import { checkMessage, withTempDatabase } from "../_helpers.ts";

const DAY = 86_400_000;

Deno.test("clusterClosedPartitions() puts each target's rows of a closed day together, once", async () => {
  await withTempDatabase(async (uri) => {
    const pool = await createPool(uri, { max: 2 });
    try {
      await migrate(pool);
      const now = Date.now();
      const days = [3, 2, 1, 0].map((ago) => utcDay(now) - ago * DAY);
      await ensurePartitions(pool, days);
      // Every minute of each day's first hour, targets interleaved as they arrive.
      const rows: CheckRow[] = [];
      for (const day of days) {
        for (let minute = 0; minute < 60; minute++) {
          for (const target of ["c", "a", "b"]) {
            const parsed = parseCheckMessage(new TextEncoder().encode(JSON.stringify(checkMessage({
              target_id: target,
              started_at: new Date(day + minute * 60_000).toISOString(),
            }))));
            assert.ok("row" in parsed);
            rows.push(parsed.row);
          }
        }
      }
      await storeBatch(pool, rows, []);
      const physical = async (day: number) =>
        (await pool.query(
          `SELECT target_id FROM checks WHERE checked_at >= $1 AND checked_at < $2 ORDER BY ctid`,
          [new Date(day), new Date(day + DAY)],
        )).rows.map((r) => r.target_id as string).join("");
      assert.match(await physical(days[0]!), /^(cab)+$/);

      const clustered = await clusterClosedPartitions(pool, now, { limit: 10 });
      // The day before yesterday and older are closed; yesterday and today are not.
      assert.deepEqual(clustered.map((c) => c.day), [days[0], days[1]]);
      for (const day of days.slice(0, 2)) {
        assert.equal(await physical(day), "a".repeat(60) + "b".repeat(60) + "c".repeat(60));
      }
      assert.match(await physical(days[2]!), /^(cab)+$/);
      assert.deepEqual(await clusterClosedPartitions(pool, now, { limit: 10 }), []);
    } finally {
      await pool.end();
    }
  });
});

Deno.test("clusterClosedPartitions() gives up on a partition another session holds, for now", async () => {
  await withTempDatabase(async (uri) => {
    const pool = await createPool(uri, { max: 3 });
    try {
      await migrate(pool);
      const now = Date.now();
      const old = utcDay(now) - 5 * DAY;
      await ensurePartitions(pool, [old]);
      const holder = await pool.connect();
      try {
        const name = `checks_${new Date(old).toISOString().slice(0, 10).replace(/-/g, "")}`;
        await holder.query(`BEGIN; LOCK TABLE ${name} IN ACCESS SHARE MODE`);
        const started = performance.now();
        assert.deepEqual(await clusterClosedPartitions(pool, now, { lockTimeoutMs: 200 }), []);
        assert.ok(performance.now() - started < 5_000);
        await holder.query("ROLLBACK");
      } finally {
        holder.release();
      }
      assert.equal((await clusterClosedPartitions(pool, now)).length, 1);
    } finally {
      await pool.end();
    }
  });
});

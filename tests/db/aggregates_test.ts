import assert from "node:assert/strict";
import {
  LATENCY_BOUNDS_MS,
  LATENCY_COLUMNS,
  latencyBucket,
  latencyQuantile,
  REBUILD_AGGREGATES_SQL,
  summarizeRows,
} from "../../src/db/aggregates.ts";
import { createPool } from "../../src/db/create_pool.ts";
import { migrate } from "../../src/db/migrate.ts";
import { ensurePartitions, utcDay } from "../../src/db/partitions.ts";
import { storeBatch } from "../../src/db/store_batch.ts";
import type { CheckRow } from "../../src/writer/parse_check_message.ts";
import { withTempDatabase } from "../_helpers.ts";

const T0 = Date.UTC(2026, 10, 20, 22, 0, 0);

let sequence = 0;
function row(
  targetId: string,
  at: number,
  ok: boolean,
  { kind = "timeout", totalMs = 40 }: { kind?: string; totalMs?: number } = {},
): CheckRow {
  const id = (sequence++).toString(16).padStart(12, "0");
  return {
    checkId: `00000000-0000-7000-8000-${id}`,
    checkedAt: new Date(at),
    scheduledAt: new Date(at),
    targetId,
    name: `name-${targetId}`,
    url: `https://${targetId}.example/`,
    method: "GET",
    location: "test",
    monitor: "test-host",
    status: ok ? 200 : null,
    dnsMs: 1,
    connectMs: 1,
    tlsMs: null,
    ttfbMs: 1,
    totalMs,
    bytes: 10,
    redirects: 0,
    finalUrl: `https://${targetId}.example/`,
    regexMatch: null,
    tlsExpiresAt: null,
    ok,
    errorKind: ok ? null : kind as CheckRow["errorKind"],
    errorMessage: ok ? null : `${kind} happened`,
  };
}

Deno.test("latencyBucket() puts a latency in the bucket whose bounds hold it", () => {
  assert.equal(latencyBucket(0), 0);
  assert.equal(latencyBucket(9.99), 0);
  assert.equal(latencyBucket(10), 1);
  assert.equal(latencyBucket(99), 4);
  assert.equal(latencyBucket(1e9), LATENCY_BOUNDS_MS.length);
});

Deno.test("latencyQuantile() interpolates inside the bucket that holds the rank", () => {
  const counts = new Array(LATENCY_BOUNDS_MS.length + 1).fill(0);
  assert.equal(latencyQuantile(counts, 0.5), null);
  counts[latencyBucket(60)] = 100; // all in [50, 75)
  assert.equal(latencyQuantile(counts, 0.5), 62.5);
  assert.equal(latencyQuantile(counts, 0.95), 73.75);
  counts[latencyBucket(1e6)] = 100; // half in the open last bucket
  assert.equal(latencyQuantile(counts, 0.95), 30000);
  assert.equal(latencyQuantile(counts, 0.25), 62.5);
});

Deno.test("summarizeRows() opens, extends and closes incidents and tracks the state", () => {
  const rows = [
    row("a", T0, true),
    row("a", T0 + 60_000, false, { kind: "timeout" }),
    row("a", T0 + 120_000, false, { kind: "dns" }),
    row("a", T0 + 180_000, true),
    row("a", T0 + 240_000, false, { kind: "status" }),
  ];
  // Shuffled input: the order inside a batch comes from the check times.
  const changes = summarizeRows([rows[3]!, rows[0]!, rows[4]!, rows[2]!, rows[1]!], new Map());
  assert.deepEqual(
    changes.incidents.map((i) => [
      i.startedAt.getTime() - T0,
      i.endedAt && i.endedAt.getTime() - T0,
      i.failedChecks,
      i.errorKinds,
      i.errorMessage,
    ]),
    [
      [60_000, 180_000, 2, ["dns", "timeout"], "timeout happened"],
      [240_000, null, 1, ["status"], "status happened"],
    ],
  );
  const [status] = changes.statuses;
  assert.equal(status?.lastOk, false);
  assert.equal(status?.stateSince.getTime(), T0 + 240_000);
  assert.equal(status?.firstCheckedAt.getTime(), T0);
  assert.deepEqual(changes.hourly.map((h) => [h.checks, h.ok]), [[5, 2]]);
  assert.equal(changes.daily.length, 1);

  // The next batch closes the open incident; a late check counts but changes no state.
  const next = summarizeRows(
    [row("a", T0 + 300_000, true), row("a", T0 - 3_600_000, false)],
    new Map([["a", status!]]),
  );
  assert.deepEqual(
    next.incidents.map((i) => [i.startedAt.getTime() - T0, i.endedAt!.getTime() - T0]),
    [[240_000, 300_000]],
  );
  assert.equal(next.statuses[0]?.stateSince.getTime(), T0 + 300_000);
  assert.equal(next.statuses[0]?.firstCheckedAt.getTime(), T0);
  assert.deepEqual(next.hourly.map((h) => [h.start - T0, h.checks, h.ok]), [
    [-3_600_000, 1, 0],
    [0, 1, 1],
  ]);
});

const SNAPSHOT_QUERIES = {
  hourly: `SELECT target_id, hour, checks, ok, round(latency_ms_sum::numeric, 3) AS l, ${
    LATENCY_COLUMNS.join(", ")
  } FROM check_hourly ORDER BY 1, 2`,
  daily:
    "SELECT target_id, day, checks, ok, round(latency_ms_sum::numeric, 3) AS l FROM check_daily ORDER BY 1, 2",
  status: "SELECT * FROM target_status ORDER BY 1",
  incidents: "SELECT * FROM incidents ORDER BY 1, 2",
};

Deno.test("storeBatch() keeps the aggregates equal to a rebuild from checks, replays included", async () => {
  await withTempDatabase(async (uri) => {
    const pool = await createPool(uri, { max: 2 });
    try {
      await migrate(pool);
      // Three targets, a check a minute for five hours across midnight, with failure streaks.
      const rows: CheckRow[] = [];
      let seed = 7;
      const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
      for (const target of ["t1", "t2", "t3"]) {
        let failing = false;
        for (let minute = 0; minute < 300; minute++) {
          if (random() < 0.08) failing = !failing;
          rows.push(row(target, T0 + minute * 60_000 + 250, !failing, {
            kind: random() < 0.5 ? "timeout" : "connect",
            totalMs: 5 + random() * 2_000,
          }));
        }
      }
      await ensurePartitions(pool, new Set(rows.map((r) => utcDay(r.checkedAt.getTime()))));
      // Batches of uneven size, each batch interleaving targets as partitions do.
      const batches: CheckRow[][] = [];
      for (let i = 0; i < 300;) {
        const size = 1 + Math.floor(random() * 40);
        batches.push(rows.filter((r) => {
          const minute = Math.floor((r.checkedAt.getTime() - T0) / 60_000);
          return minute >= i && minute < i + size;
        }));
        i += size;
      }
      let inserted = 0;
      for (const [index, batch] of batches.entries()) {
        inserted += (await storeBatch(pool, batch, [])).inserted;
        // Every third batch is delivered again, as after a crash before the offset commit.
        if (index % 3 === 0) assert.equal((await storeBatch(pool, batch, [])).inserted, 0);
      }
      assert.equal(inserted, 900);

      const snapshot = async () =>
        Object.fromEntries(
          await Promise.all(
            Object.entries(SNAPSHOT_QUERIES).map(async (
              [name, sql],
            ) => [name, (await pool.query(sql)).rows]),
          ),
        );
      const incremental = await snapshot();
      assert.ok(incremental.incidents.length > 5, "the data has incidents");
      assert.equal(incremental.status.length, 3);
      assert.equal(
        incremental.hourly.reduce((sum: number, h: { checks: number }) => sum + h.checks, 0),
        900,
      );
      await pool.query(REBUILD_AGGREGATES_SQL);
      assert.deepEqual(await snapshot(), incremental);
    } finally {
      await pool.end();
    }
  });
});

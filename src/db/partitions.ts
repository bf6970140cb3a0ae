/**
 * Daily partitions of `checks`: named `checks_YYYYMMDD` after their UTC day, created ahead of
 * time and on demand (safely when writers race), and dropped whole past the retention.
 *
 * @module
 */
import type { Pool } from "@neondatabase/serverless";
import { withClient } from "./with_client.ts";

const DAY_MS = 86_400_000;
// Advisory lock namespace for partition creation and removal.
const PARTITION_LOCK = 7_203_114_502;

/** The UTC day (midnight, in ms) a timestamp falls in. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `checks_YYYYMMDD` for a UTC day. */
export function partitionName(dayMs: number): string {
  return `checks_${new Date(dayMs).toISOString().slice(0, 10).replaceAll("-", "")}`;
}

/** The UTC day of a partition name, or null for other tables. */
export function partitionDay(name: string): number | null {
  const match = /^checks_(\d{4})(\d{2})(\d{2})$/.exec(name);
  return match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : null;
}

/** The days that have a partition, ascending. */
export async function listPartitionDays(pool: Pool): Promise<number[]> {
  const { rows } = await pool.query<{ name: string }>(`
    SELECT c.relname AS name
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'checks'::regclass`);
  return rows.map((row) => partitionDay(row.name)).filter((day): day is number => day !== null)
    .sort((a, b) => a - b);
}

/** Creates the partitions of the given days that are missing; returns the days it created. */
export async function ensurePartitions(pool: Pool, days: Iterable<number>): Promise<number[]> {
  const wanted = [...new Set([...days].map(utcDay))].sort((a, b) => a - b);
  if (wanted.length === 0) return [];
  const existing = new Set(await listPartitionDays(pool));
  const missing = wanted.filter((day) => !existing.has(day));
  if (missing.length === 0) return [];
  return await withClient(pool, async (client) => {
    const created: number[] = [];
    // Two writers creating the same partition would collide in the catalog; take turns.
    await client.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
    for (const day of missing) {
      const name = partitionName(day);
      const { rowCount } = await client.query("SELECT 1 FROM pg_class WHERE relname = $1", [name]);
      if (rowCount) continue;
      const from = new Date(day).toISOString();
      const to = new Date(day + DAY_MS).toISOString();
      await client.query(
        `CREATE TABLE ${name} PARTITION OF checks FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
      created.push(day);
    }
    return created;
  }, { transaction: true });
}

/** Drops the partitions of days older than `retentionDays` before `now`; returns the days dropped. */
export async function dropExpiredPartitions(
  pool: Pool,
  retentionDays: number,
  now: number,
): Promise<number[]> {
  const oldestKept = utcDay(now) - retentionDays * DAY_MS;
  const expired = (await listPartitionDays(pool)).filter((day) => day < oldestKept);
  if (expired.length === 0) return [];
  await withClient(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [PARTITION_LOCK]);
    for (const day of expired) await client.query(`DROP TABLE IF EXISTS ${partitionName(day)}`);
  }, { transaction: true });
  return expired;
}

/** A partition clustered by `clusterClosedPartitions`, and how long it took. */
export interface ClusteredPartition {
  day: number;
  seconds: number;
}

/**
 * Rewrites closed daily partitions (the day before yesterday and older) in `(target_id,
 * checked_at)` order with CLUSTER, at most `limit` per call, oldest first, each once. Rows arrive
 * in time order, so a target's checks of one day are spread over as many pages as it has checks;
 * after this they sit together and the read API reads a day of one target from a few pages
 * instead of from a thousand.
 *
 * CLUSTER locks the partition while it rewrites it (seconds for a day of 1,000 targets); it gives
 * up after `lockTimeoutMs` rather than queue other sessions behind it, and is tried again later.
 */
export async function clusterClosedPartitions(
  pool: Pool,
  now: number,
  { limit = 1, lockTimeoutMs = 5_000 }: { limit?: number; lockTimeoutMs?: number } = {},
): Promise<ClusteredPartition[]> {
  const { rows } = await pool.query<{ table: string; index: string; clustered: boolean }>(`
    SELECT t.relname AS table, ix.relname AS index, i.indisclustered AS clustered
    FROM pg_inherits pi
    JOIN pg_class ix ON ix.oid = pi.inhrelid
    JOIN pg_index i ON i.indexrelid = pi.inhrelid
    JOIN pg_class t ON t.oid = i.indrelid
    WHERE pi.inhparent = 'checks_target_time'::regclass`);
  const closedBefore = utcDay(now) - DAY_MS;
  const todo = rows
    .map((row) => ({ ...row, day: partitionDay(row.table) }))
    .filter((row): row is typeof row & { day: number } =>
      row.day !== null && row.day < closedBefore && !row.clustered
    )
    .sort((a, b) => a.day - b.day)
    .slice(0, limit);
  const done: ClusteredPartition[] = [];
  for (const { table, index, day } of todo) {
    const started = performance.now();
    const clustered = await withClient(pool, async (client) => {
      await client.query(`SET lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
      try {
        await client.query(`CLUSTER ${table} USING ${index}`);
        return true;
      } catch (error) {
        // 55P03: lock_not_available. Busy now; the next maintenance pass tries again.
        if ((error as { code?: string }).code === "55P03") return false;
        throw error;
      } finally {
        await client.query("RESET lock_timeout");
      }
    });
    if (clustered) done.push({ day, seconds: (performance.now() - started) / 1000 });
  }
  return done;
}

/**
 * The read API benchmark's dataset: N targets checked every minute for D days (1,000 x 30 = 43.2
 * million rows), generated inside PostgreSQL into the writer's own schema, then aggregated with the
 * same rebuild the writer's migration uses. Kept in its own database between runs (regenerated
 * when its size differs), since generating it takes minutes.
 *
 * Each target has a stable latency level with noise, 10-minute outages at random (about 7 per
 * target in 30 days) and single 503s now and then.
 *
 * @module
 */
import { AGGREGATE_TABLES_SQL, REBUILD_AGGREGATES_SQL } from "../src/db/aggregates.ts";
import { createPool } from "../src/db/create_pool.ts";
import { migrate } from "../src/db/migrate.ts";
import { clusterClosedPartitions, ensurePartitions } from "../src/db/partitions.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Changes with the aggregates' layout, so a dataset built for another layout is not reused. */
async function layoutVersion(): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(AGGREGATE_TABLES_SQL + REBUILD_AGGREGATES_SQL + GENERATE_DAY),
  );
  return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** A generated dataset: where it is and the instant its last check precedes. */
export interface BenchDataset {
  uri: string;
  targets: number;
  days: number;
  rows: number;
  /** End of the data (exclusive): the read API is benchmarked with its clock here. */
  endsAt: Date;
  /** Seconds generation took, or null when an earlier run's dataset was reused. */
  generatedSeconds: number | null;
}

const GENERATE_DAY = `
  WITH g AS (
    SELECT t, ts,
      CASE WHEN abs(hashtext(t::text || ':' || floor(extract(epoch FROM ts) / 600)::text)) % 600 = 0 THEN 1
           WHEN random() < 0.0005 THEN 2 ELSE 0 END AS f,
      (20 + (t % 40) * 5 + random() * random() * 400)::real AS ms,
      lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') AS hex_ms
    FROM generate_series($2::timestamptz, $2::timestamptz + interval '1 day' - interval '1 minute',
                         interval '1 minute') AS ts,
         generate_series(0, $1::integer - 1) AS t
    ORDER BY ts, t
  )
  INSERT INTO checks (check_id, checked_at, scheduled_at, target_id, name, url, method, location,
    monitor, status, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, bytes, redirects, final_url,
    regex_match, tls_expires_at, ok, error_kind, error_message)
  SELECT
    (substr(hex_ms, 1, 8) || '-' || substr(hex_ms, 9, 4) || '-7' || lpad(to_hex(t), 3, '0') ||
      '-8' || substr(md5(random()::text), 1, 3) || '-' || substr(md5(random()::text), 1, 12))::uuid,
    ts, ts, substr(md5('bench-target-' || t), 1, 16), 'Bench target ' || t,
    'https://t' || t || '.bench.example/', 'GET', 'bench', 'bench-host',
    CASE f WHEN 0 THEN 200 WHEN 2 THEN 503 END,
    1.5, CASE WHEN f = 1 AND t % 2 = 1 THEN NULL ELSE 3 END,
    CASE WHEN f = 1 THEN NULL ELSE 8 END,
    CASE WHEN f = 1 THEN NULL ELSE ms - 4 END,
    CASE WHEN f = 1 THEN (CASE WHEN t % 2 = 0 THEN 10000 ELSE 4.5 END) ELSE ms END,
    CASE WHEN f = 1 THEN 0 ELSE 1256 END, 0, 'https://t' || t || '.bench.example/', NULL,
    CASE WHEN f = 1 THEN NULL ELSE timestamptz '2027-06-01T00:00:00Z' END,
    f = 0,
    CASE f WHEN 1 THEN (CASE WHEN t % 2 = 0 THEN 'timeout' ELSE 'connect' END) WHEN 2 THEN 'status' END,
    CASE f WHEN 1 THEN (CASE WHEN t % 2 = 0 THEN 'no response within 10s' ELSE 'connection refused' END)
           WHEN 2 THEN 'unexpected status 503' END
  FROM g`;

/**
 * What the writer's hourly maintenance does to closed days, all at once: each partition older than
 * yesterday rewritten in (target_id, checked_at) order. A no-op once done.
 */
async function reorder(
  pool: Awaited<ReturnType<typeof createPool>>,
  now: number,
  log: (line: string) => void,
): Promise<void> {
  const started = performance.now();
  const done = await clusterClosedPartitions(pool, now, {
    limit: Number.MAX_SAFE_INTEGER,
    lockTimeoutMs: 60_000,
  });
  if (done.length > 0) {
    await pool.query("ANALYZE checks");
    log(
      `reordered ${done.length} closed partitions by target (the writer's maintenance) in ${
        ((performance.now() - started) / 1000).toFixed(0)
      } s`,
    );
  }
}

/** Returns the dataset, generating it first unless the database already holds one of this size. */
export async function benchDataset(
  adminUri: string,
  { targets, days, log }: { targets: number; days: number; log: (line: string) => void },
): Promise<BenchDataset> {
  const name = "availability_bench_api";
  const url = new URL(adminUri);
  url.pathname = `/${name}`;
  const uri = url.toString();
  const admin = await createPool(adminUri, { max: 1 });
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rows.length > 0) {
      const pool = await createPool(uri, { max: 1 });
      try {
        const marker = await pool.query(
          "SELECT targets, days, rows, ends_at, layout FROM bench_dataset LIMIT 1",
        ).catch(() => ({ rows: [] }));
        const found = marker.rows[0];
        if (
          found && found.targets === targets && found.days === days &&
          found.layout === await layoutVersion()
        ) {
          log(`reusing the dataset in ${name}: ${Number(found.rows).toLocaleString("en")} rows`);
          await reorder(pool, found.ends_at.getTime(), log);
          return {
            uri,
            targets,
            days,
            rows: Number(found.rows),
            endsAt: found.ends_at,
            generatedSeconds: null,
          };
        }
      } finally {
        await pool.end();
      }
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }

  const started = performance.now();
  // Ending on the hour in the middle of a day, as a real "now" does, so that the uptime windows
  // start inside a day and read the hourly table at their edges.
  const endsAt = new Date(Math.floor(Date.now() / HOUR_MS) * HOUR_MS);
  const pool = await createPool(uri, { max: 2 });
  try {
    await migrate(pool);
    // Chunks of 24 hours each (not UTC days: the data ends mid-day).
    const dayStarts = Array.from(
      { length: days },
      (_, i) => endsAt.getTime() - (days - i) * DAY_MS,
    );
    await ensurePartitions(pool, [...dayStarts, endsAt.getTime() - 1]);
    // Bulk load: build the secondary index once at the end instead of row by row.
    await pool.query("DROP INDEX checks_target_time");
    let next = 0;
    const worker = async () => {
      const client = await pool.connect();
      try {
        await client.query("SET synchronous_commit = off; SET work_mem = '256MB'");
        while (next < dayStarts.length) {
          const day = dayStarts[next++]!;
          const t = performance.now();
          await client.query(GENERATE_DAY, [targets, new Date(day).toISOString()]);
          log(
            `  ${new Date(day).toISOString().slice(0, 13)}h + 24 h: ${targets * 1440} rows in ${
              ((performance.now() - t) / 1000).toFixed(1)
            } s`,
          );
        }
      } finally {
        client.release();
      }
    };
    await Promise.all([worker(), worker()]);
    log("indexing");
    await pool.query(
      "SET maintenance_work_mem = '1GB'; CREATE INDEX checks_target_time ON checks (target_id, checked_at DESC)",
    );
    log("aggregating (the migration's rebuild)");
    await pool.query(`SET work_mem = '512MB'; ${REBUILD_AGGREGATES_SQL}`);
    await reorder(pool, endsAt.getTime(), log);
    await pool.query("VACUUM ANALYZE");
    const rows = targets * days * 1440;
    await pool.query(
      `CREATE TABLE bench_dataset (targets integer, days integer, rows bigint, ends_at timestamptz,
         layout text);
       INSERT INTO bench_dataset
       VALUES (${targets}, ${days}, ${rows}, '${endsAt.toISOString()}', '${await layoutVersion()}')`,
    );
    const seconds = (performance.now() - started) / 1000;
    log(`dataset ready: ${rows.toLocaleString("en")} rows in ${seconds.toFixed(0)} s`);
    return { uri, targets, days, rows, endsAt, generatedSeconds: seconds };
  } finally {
    await pool.end();
  }
}

if (import.meta.main) {
  const [targets = "1000", days = "30"] = Deno.args;
  await benchDataset("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", {
    targets: Number(targets),
    days: Number(days),
    log: console.log,
  });
}

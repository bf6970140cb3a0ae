/**
 * The writer's schema, created and upgraded in place by numbered migrations recorded in
 * `schema_migrations`. Writers starting at once serialise on an advisory lock, so each migration
 * runs exactly once.
 *
 * @module
 */
import type { Pool } from "@neondatabase/serverless";
import { AGGREGATE_TABLES_SQL, REBUILD_AGGREGATES_SQL } from "./aggregates.ts";
import { withClient } from "./with_client.ts";

/** One schema change; never edit a released one, add the next number. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "checks and dead_letters",
    sql: `
      CREATE TABLE checks (
        check_id        uuid        NOT NULL,
        checked_at      timestamptz NOT NULL,
        scheduled_at    timestamptz NOT NULL,
        target_id       text        NOT NULL,
        name            text        NOT NULL,
        url             text        NOT NULL,
        method          text        NOT NULL,
        location        text        NOT NULL,
        monitor         text        NOT NULL,
        status          smallint,
        dns_ms          real,
        connect_ms      real,
        tls_ms          real,
        ttfb_ms         real,
        total_ms        real        NOT NULL,
        bytes           bigint      NOT NULL,
        redirects       smallint    NOT NULL,
        final_url       text        NOT NULL,
        regex_match     boolean,
        tls_expires_at  timestamptz,
        ok              boolean     NOT NULL,
        error_kind      text,
        error_message   text,
        inserted_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (check_id, checked_at)
      ) PARTITION BY RANGE (checked_at);
      COMMENT ON TABLE checks IS 'One row per check (availability-monitor schema v1); one partition per UTC day, named checks_YYYYMMDD';
      COMMENT ON COLUMN checks.checked_at IS 'When the check started (started_at in the message); the partition key';
      COMMENT ON COLUMN checks.inserted_at IS 'When the writer inserted the row, moments before its transaction committed';
      CREATE INDEX checks_target_time ON checks (target_id, checked_at DESC);

      CREATE TABLE dead_letters (
        id           bigserial   PRIMARY KEY,
        topic        text        NOT NULL,
        partition    integer     NOT NULL,
        "offset"     bigint      NOT NULL,
        key          bytea,
        value        bytea,
        reason       text        NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now(),
        UNIQUE (topic, partition, "offset")
      );
      COMMENT ON TABLE dead_letters IS 'Messages that could not be stored as checks, with where they came from and why';
    `,
  },
  {
    version: 2,
    name: "aggregates for the read API",
    // A database that already holds checks gets its aggregates computed once, here.
    sql: AGGREGATE_TABLES_SQL + REBUILD_AGGREGATES_SQL,
  },
];

// An arbitrary constant: the advisory lock all writers take around migrations.
const MIGRATION_LOCK = 7_203_114_501;

/** Applies the migrations not yet recorded; returns the versions it applied. */
export async function migrate(
  pool: Pool,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const applied: number[] = [];
  await withClient(pool, async (client) => {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      await client.query(`
        CREATE TABLE IF NOT EXISTS schema_migrations (
          version     integer     PRIMARY KEY,
          name        text        NOT NULL,
          applied_at  timestamptz NOT NULL DEFAULT now()
        )`);
      const { rows } = await client.query<{ version: number }>(
        "SELECT version FROM schema_migrations",
      );
      const done = new Set(rows.map((row) => row.version));
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        await client.query("BEGIN");
        try {
          await client.query(migration.sql);
          await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
            migration.version,
            migration.name,
          ]);
          await client.query("COMMIT");
        } catch (cause) {
          await client.query("ROLLBACK").catch(() => {});
          throw new Error(
            `Migration ${migration.version} (${migration.name}) failed: ${
              (cause as Error).message
            }`,
            {
              cause,
            },
          );
        }
        applied.push(migration.version);
      }
    } finally {
      // A session lock ends with its connection, so a failed unlock is harmless.
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    }
  });
  return applied;
}

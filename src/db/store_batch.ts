/**
 * Writes one consumed batch in one transaction: every valid check with a single multi-row
 * INSERT ... SELECT FROM UNNEST (one statement per batch, not per row), every bad message into
 * `dead_letters`, both with ON CONFLICT DO NOTHING so a replayed batch writes nothing twice. The
 * rows that were new update the read API's aggregates in the same transaction.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Pool } from "@neondatabase/serverless";
import type { CheckRow } from "../writer/parse_check_message.ts";
import { applyAggregates } from "./aggregates.ts";
import { withClient } from "./with_client.ts";

/** A message that could not be stored as a check. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
  reason: string;
}

/** What a batch wrote: rows new to the table (replays count 0), and dead letters. */
export interface StoreResult {
  inserted: number;
  deadLetters: number;
}

const COLUMNS: [string, string, (row: CheckRow) => unknown][] = [
  ["check_id", "uuid", (r) => r.checkId],
  ["checked_at", "timestamptz", (r) => r.checkedAt.toISOString()],
  ["scheduled_at", "timestamptz", (r) => r.scheduledAt.toISOString()],
  ["target_id", "text", (r) => r.targetId],
  ["name", "text", (r) => r.name],
  ["url", "text", (r) => r.url],
  ["method", "text", (r) => r.method],
  ["location", "text", (r) => r.location],
  ["monitor", "text", (r) => r.monitor],
  ["status", "smallint", (r) => r.status],
  ["dns_ms", "real", (r) => r.dnsMs],
  ["connect_ms", "real", (r) => r.connectMs],
  ["tls_ms", "real", (r) => r.tlsMs],
  ["ttfb_ms", "real", (r) => r.ttfbMs],
  ["total_ms", "real", (r) => r.totalMs],
  ["bytes", "bigint", (r) => r.bytes],
  ["redirects", "smallint", (r) => r.redirects],
  ["final_url", "text", (r) => r.finalUrl],
  ["regex_match", "boolean", (r) => r.regexMatch],
  ["tls_expires_at", "timestamptz", (r) => r.tlsExpiresAt?.toISOString() ?? null],
  ["ok", "boolean", (r) => r.ok],
  ["error_kind", "text", (r) => r.errorKind],
  ["error_message", "text", (r) => r.errorMessage],
];

const INSERT_CHECKS = `
  INSERT INTO checks (${COLUMNS.map(([name]) => name).join(", ")})
  SELECT * FROM UNNEST(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ")})
  ON CONFLICT DO NOTHING
  RETURNING check_id`;

const INSERT_DEAD_LETTERS = `
  INSERT INTO dead_letters (topic, partition, "offset", key, value, reason)
  SELECT * FROM UNNEST($1::text[], $2::integer[], $3::bigint[], $4::bytea[], $5::bytea[], $6::text[])
  ON CONFLICT DO NOTHING`;

/** Writes rows and dead letters in one transaction (see the module comment). */
export function storeBatch(
  pool: Pool,
  rows: CheckRow[],
  deadLetters: DeadLetter[],
): Promise<StoreResult> {
  return withClient(pool, async (client) => {
    let inserted = 0;
    if (rows.length > 0) {
      const params = COLUMNS.map(([, , get]) => rows.map(get));
      const result = await client.query<{ check_id: string }>(INSERT_CHECKS, params);
      inserted = result.rows.length;
      // Only rows new to the table move the aggregates: a replay changes nothing.
      const fresh = new Set(result.rows.map((row) => row.check_id));
      await applyAggregates(client, rows.filter((row) => fresh.has(row.checkId)));
    }
    let dead = 0;
    if (deadLetters.length > 0) {
      const bytes = (
        b: Uint8Array | null,
      ) => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      dead = (await client.query(INSERT_DEAD_LETTERS, [
        deadLetters.map((d) => d.topic),
        deadLetters.map((d) => d.partition),
        deadLetters.map((d) => d.offset),
        deadLetters.map((d) => bytes(d.key)),
        deadLetters.map((d) => bytes(d.value)),
        deadLetters.map((d) => d.reason),
      ])).rowCount ?? 0;
    }
    return { inserted, deadLetters: dead };
  }, { transaction: true });
}

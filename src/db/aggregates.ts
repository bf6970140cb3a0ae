/**
 * What the read API answers from instead of raw partitions, kept up to date by the writer in the
 * same transaction as the rows it inserts (so replays, which insert nothing, change nothing):
 *
 * - `check_hourly` / `check_daily`: per target and UTC hour / day, checks, successes, and the
 *   latency of successful checks (sum, and for hours a histogram with fixed bounds for p50/p95).
 * - `target_status`: each target's last result, state (up while the last check passed) and since
 *   when.
 * - `incidents`: maximal runs of consecutive failed checks of a target, ordered by check start,
 *   from the first failure to the next success (open while none has come).
 *
 * A check that starts before the target's latest known check (a late arrival) counts in the hourly
 * and daily figures but does not rewrite state or incidents. `REBUILD_AGGREGATES_SQL` derives the
 * same tables from `checks` for a database that predates them.
 *
 * @module
 */
import type { PoolClient } from "@neondatabase/serverless";
import type { CheckRow } from "../writer/parse_check_message.ts";

/** Upper bounds (exclusive, ms) of the latency histogram buckets; the last bucket is open. */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  10,
  25,
  50,
  75,
  100,
  150,
  200,
  300,
  400,
  500,
  750,
  1000,
  1500,
  2000,
  3000,
  5000,
  10000,
  20000,
  30000,
];
/** Number of latency buckets (one more than bounds). */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/**
 * The histogram's columns in `check_hourly`, one per bucket: `ms_lt_10` counts latencies below 10
 * ms, `ms_lt_25` those from 10 to below 25, ..., `ms_ge_30000` those of 30 s and more. Plain
 * columns, not an array: summing columns is several times faster than summing array elements.
 */
export const LATENCY_COLUMNS: readonly string[] = [
  ...LATENCY_BOUNDS_MS.map((bound) => `ms_lt_${bound}`),
  `ms_ge_${LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]}`,
];

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The histogram bucket of a latency. */
export function latencyBucket(ms: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && ms >= LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

/** A quantile (0..1) estimated from bucket counts by linear interpolation; null without data. */
export function latencyQuantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (n > 0 && below + n >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i];
      if (upper === undefined) return lower;
      return lower + (upper - lower) * Math.max(0, rank - below) / n;
    }
    below += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

/** One target's row of `target_status`. */
export interface TargetStatus {
  targetId: string;
  name: string;
  url: string;
  method: string;
  firstCheckedAt: Date;
  lastCheckId: string;
  lastCheckedAt: Date;
  lastOk: boolean;
  lastStatus: number | null;
  lastTotalMs: number;
  lastErrorKind: string | null;
  lastErrorMessage: string | null;
  /** Start of the current run of passing (or failing) checks; for a failing run, its incident. */
  stateSince: Date;
}

/** Counts to add to one hour or day of one target. */
export interface PeriodDelta {
  targetId: string;
  /** Start of the UTC hour or day, ms. */
  start: number;
  checks: number;
  ok: number;
  latencyMsSum: number;
  /** Latency histogram of successful checks (hours only). */
  buckets: number[];
}

/** A change to one incident, merged into the row with the same target and start. */
export interface IncidentDelta {
  targetId: string;
  startedAt: Date;
  /** Set when the batch holds the success that ends the incident. */
  endedAt: Date | null;
  lastFailedAt: Date | null;
  failedChecks: number;
  errorKinds: string[];
  /** The first failure's message, for an incident that starts in this batch. */
  errorMessage: string | null;
}

/** Everything a batch of new rows changes in the aggregate tables. */
export interface AggregateChanges {
  hourly: PeriodDelta[];
  daily: PeriodDelta[];
  statuses: TargetStatus[];
  incidents: IncidentDelta[];
}

/**
 * Folds rows new to `checks` into aggregate changes, given the current status of their targets.
 * Pure: the caller reads the statuses and writes the changes in the batch's transaction.
 */
export function summarizeRows(
  rows: readonly CheckRow[],
  current: ReadonlyMap<string, TargetStatus>,
): AggregateChanges {
  const hourly = new Map<string, PeriodDelta>();
  const daily = new Map<string, PeriodDelta>();
  const statuses = new Map<string, TargetStatus>();
  const incidents = new Map<string, IncidentDelta>();
  const sorted = [...rows].sort((a, b) =>
    a.targetId < b.targetId ? -1 : a.targetId > b.targetId ? 1 : compareChecks(a, b)
  );
  for (const row of sorted) {
    const at = row.checkedAt.getTime();
    addToPeriod(hourly, row, at - mod(at, HOUR_MS), true);
    addToPeriod(daily, row, at - mod(at, DAY_MS), false);

    const status = statuses.get(row.targetId) ?? current.get(row.targetId);
    if (
      status &&
      compareChecks(row, { checkedAt: status.lastCheckedAt, checkId: status.lastCheckId }) <= 0
    ) {
      continue; // a late arrival: counted above, but the state has moved on
    }
    let stateSince = status?.stateSince ?? row.checkedAt;
    if (status && status.lastOk !== row.ok) {
      stateSince = row.checkedAt;
      if (row.ok) {
        incidentDelta(incidents, row.targetId, status.stateSince).endedAt = row.checkedAt;
      }
    }
    if (!row.ok) {
      const delta = incidentDelta(incidents, row.targetId, stateSince);
      if (delta.failedChecks === 0 && stateSince.getTime() === at) {
        delta.errorMessage = row.errorMessage;
      }
      delta.failedChecks++;
      delta.lastFailedAt = row.checkedAt;
      const kind = row.errorKind ?? "unknown";
      if (!delta.errorKinds.includes(kind)) delta.errorKinds.push(kind);
    }
    statuses.set(row.targetId, {
      targetId: row.targetId,
      name: row.name,
      url: row.url,
      method: row.method,
      firstCheckedAt: status?.firstCheckedAt ?? row.checkedAt,
      lastCheckId: row.checkId,
      lastCheckedAt: row.checkedAt,
      lastOk: row.ok,
      lastStatus: row.status,
      lastTotalMs: row.totalMs,
      lastErrorKind: row.errorKind,
      lastErrorMessage: row.errorMessage,
      stateSince,
    });
  }
  for (const delta of incidents.values()) delta.errorKinds.sort();
  return {
    hourly: [...hourly.values()],
    daily: [...daily.values()],
    statuses: [...statuses.values()],
    incidents: [...incidents.values()],
  };
}

function compareChecks(
  a: { checkedAt: Date; checkId: string },
  b: { checkedAt: Date; checkId: string },
): number {
  const dt = a.checkedAt.getTime() - b.checkedAt.getTime();
  if (dt !== 0) return dt;
  return a.checkId < b.checkId ? -1 : a.checkId > b.checkId ? 1 : 0;
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

function addToPeriod(
  periods: Map<string, PeriodDelta>,
  row: CheckRow,
  start: number,
  withBuckets: boolean,
): void {
  const key = `${row.targetId}\u0000${start}`;
  let delta = periods.get(key);
  if (!delta) {
    delta = {
      targetId: row.targetId,
      start,
      checks: 0,
      ok: 0,
      latencyMsSum: 0,
      buckets: withBuckets ? new Array(LATENCY_BUCKETS).fill(0) : [],
    };
    periods.set(key, delta);
  }
  delta.checks++;
  if (row.ok) {
    delta.ok++;
    // The column is a real: sum what is stored, so a rebuild gives the same figure.
    const stored = Math.fround(row.totalMs);
    delta.latencyMsSum += stored;
    if (withBuckets) delta.buckets[latencyBucket(stored)]!++;
  }
}

function incidentDelta(
  incidents: Map<string, IncidentDelta>,
  targetId: string,
  startedAt: Date,
): IncidentDelta {
  const key = `${targetId}\u0000${startedAt.getTime()}`;
  let delta = incidents.get(key);
  if (!delta) {
    delta = {
      targetId,
      startedAt,
      endedAt: null,
      lastFailedAt: null,
      failedChecks: 0,
      errorKinds: [],
      errorMessage: null,
    };
    incidents.set(key, delta);
  }
  return delta;
}

/** The tables, indexes and helpers of the aggregates (migration 2). */
export const AGGREGATE_TABLES_SQL = `
  CREATE TABLE check_hourly (
    target_id        text        NOT NULL,
    hour             timestamptz NOT NULL,
    checks           integer     NOT NULL,
    ok               integer     NOT NULL,
    latency_ms_sum   double precision NOT NULL,
    ${LATENCY_COLUMNS.map((c) => `${c} integer NOT NULL`).join(",\n    ")},
    PRIMARY KEY (target_id, hour)
  );
  CREATE INDEX check_hourly_hour ON check_hourly (hour);
  COMMENT ON TABLE check_hourly IS 'Checks per target and UTC hour; latency of successful checks as a sum and a histogram: ms_lt_N counts latencies below N ms and at least the previous bound';

  CREATE TABLE check_daily (
    target_id        text        NOT NULL,
    day              timestamptz NOT NULL,
    checks           integer     NOT NULL,
    ok               integer     NOT NULL,
    latency_ms_sum   double precision NOT NULL,
    PRIMARY KEY (target_id, day)
  );
  CREATE INDEX check_daily_day ON check_daily (day);
  COMMENT ON TABLE check_daily IS 'Checks per target and UTC day';

  CREATE TABLE target_status (
    target_id           text        PRIMARY KEY,
    name                text        NOT NULL,
    url                 text        NOT NULL,
    method              text        NOT NULL,
    first_checked_at    timestamptz NOT NULL,
    last_check_id       uuid        NOT NULL,
    last_checked_at     timestamptz NOT NULL,
    last_ok             boolean     NOT NULL,
    last_status         smallint,
    last_total_ms       real        NOT NULL,
    last_error_kind     text,
    last_error_message  text,
    state_since         timestamptz NOT NULL
  );
  COMMENT ON TABLE target_status IS 'Each target''s latest check; up while it passed, since state_since';

  CREATE TABLE incidents (
    target_id       text        NOT NULL,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    last_failed_at  timestamptz NOT NULL,
    failed_checks   integer     NOT NULL,
    error_kinds     text[]      NOT NULL,
    error_message   text,
    PRIMARY KEY (target_id, started_at)
  );
  CREATE INDEX incidents_started ON incidents (started_at);
  COMMENT ON TABLE incidents IS 'Runs of consecutive failed checks of a target: from the first failure to the next success (ended_at), open while ended_at is null';
`;

const bucketCounts = (column: string) =>
  Array.from({ length: LATENCY_BUCKETS }, (_, i) => {
    const lower = i === 0 ? null : LATENCY_BOUNDS_MS[i - 1];
    const upper = LATENCY_BOUNDS_MS[i];
    const conditions = ["ok"];
    if (lower !== null) conditions.push(`${column} >= ${lower}`);
    if (upper !== undefined) conditions.push(`${column} < ${upper}`);
    return `count(*) FILTER (WHERE ${conditions.join(" AND ")})`;
  }).join(", ");

/**
 * Recomputes every aggregate table from `checks` (after emptying them). Used by migration 2 for
 * databases that already hold checks, and by the benchmark for its generated data.
 */
export const REBUILD_AGGREGATES_SQL = `
  TRUNCATE check_hourly, check_daily, target_status, incidents;

  -- In time order, as the writer appends them, so that an hour's rows sit together on disk.
  INSERT INTO check_hourly (target_id, hour, checks, ok, latency_ms_sum, ${
  LATENCY_COLUMNS.join(", ")
})
  SELECT target_id, date_trunc('hour', checked_at, 'UTC') AS hour, count(*), count(*) FILTER (WHERE ok),
         coalesce(sum(total_ms::float8) FILTER (WHERE ok), 0), ${bucketCounts("total_ms")}
  FROM checks GROUP BY 1, 2 ORDER BY 2, 1;

  INSERT INTO check_daily (target_id, day, checks, ok, latency_ms_sum)
  SELECT target_id, date_trunc('day', hour, 'UTC') AS day, sum(checks), sum(ok), sum(latency_ms_sum)
  FROM check_hourly GROUP BY 1, 2 ORDER BY 2, 1;

  CREATE TEMPORARY TABLE rebuild_ordered ON COMMIT DROP AS
  SELECT target_id, checked_at, ok, error_kind, error_message,
         count(*) FILTER (WHERE ok) OVER (PARTITION BY target_id ORDER BY checked_at, check_id) AS run
  FROM checks;

  INSERT INTO incidents (target_id, started_at, ended_at, last_failed_at, failed_checks, error_kinds,
                         error_message)
  SELECT f.target_id, f.started_at, s.ended_at, f.last_failed_at, f.failed_checks, f.error_kinds,
         f.error_message
  FROM (
    SELECT target_id, run, min(checked_at) AS started_at, max(checked_at) AS last_failed_at,
           count(*)::integer AS failed_checks,
           array_agg(DISTINCT coalesce(error_kind, 'unknown') ORDER BY coalesce(error_kind, 'unknown')) AS error_kinds,
           (array_agg(error_message ORDER BY checked_at))[1] AS error_message
    FROM rebuild_ordered WHERE NOT ok GROUP BY target_id, run
  ) f
  LEFT JOIN (
    SELECT target_id, run, checked_at AS ended_at FROM rebuild_ordered WHERE ok
  ) s ON s.target_id = f.target_id AND s.run = f.run + 1;

  INSERT INTO target_status (target_id, name, url, method, first_checked_at, last_check_id,
    last_checked_at, last_ok, last_status, last_total_ms, last_error_kind, last_error_message,
    state_since)
  SELECT DISTINCT ON (c.target_id) c.target_id, c.name, c.url, c.method, firsts.first_checked_at,
    c.check_id, c.checked_at, c.ok, c.status, c.total_ms, c.error_kind, c.error_message,
    CASE WHEN c.ok THEN coalesce(
      (SELECT max(i.ended_at) FROM incidents i WHERE i.target_id = c.target_id),
      firsts.first_checked_at)
    ELSE (SELECT max(i.started_at) FROM incidents i WHERE i.target_id = c.target_id) END
  FROM checks c
  JOIN (SELECT target_id, min(checked_at) AS first_checked_at FROM checks GROUP BY 1) firsts
    USING (target_id)
  ORDER BY c.target_id, c.checked_at DESC, c.check_id DESC;
`;

const STATUS_COLUMNS =
  "target_id, name, url, method, first_checked_at, last_check_id, last_checked_at, last_ok, last_status, last_total_ms, last_error_kind, last_error_message, state_since";

/** Reads and locks the status rows of `targetIds` for the batch's transaction. */
export async function readStatuses(
  client: PoolClient,
  targetIds: string[],
): Promise<Map<string, TargetStatus>> {
  const { rows } = await client.query(
    `SELECT ${STATUS_COLUMNS} FROM target_status WHERE target_id = ANY($1::text[])
     ORDER BY target_id FOR UPDATE`,
    [targetIds],
  );
  const statuses = new Map<string, TargetStatus>();
  for (const r of rows) {
    statuses.set(r.target_id, {
      targetId: r.target_id,
      name: r.name,
      url: r.url,
      method: r.method,
      firstCheckedAt: r.first_checked_at,
      lastCheckId: r.last_check_id,
      lastCheckedAt: r.last_checked_at,
      lastOk: r.last_ok,
      lastStatus: r.last_status,
      lastTotalMs: r.last_total_ms,
      lastErrorKind: r.last_error_kind,
      lastErrorMessage: r.last_error_message,
      stateSince: r.state_since,
    });
  }
  return statuses;
}

const UPSERT_HOURLY = `
  INSERT INTO check_hourly AS h (target_id, hour, checks, ok, latency_ms_sum,
    ${LATENCY_COLUMNS.join(", ")})
  SELECT t, to_timestamp(s / 1000.0), c, o, l, ${
  LATENCY_COLUMNS.map((_, i) => `b[${i + 1}]`).join(", ")
}
  FROM (
    SELECT t, s, c, o, l, b::integer[] AS b
    FROM UNNEST($1::text[], $2::bigint[], $3::integer[], $4::integer[], $5::float8[], $6::text[])
      AS u(t, s, c, o, l, b)
  ) AS u
  ORDER BY t, s
  ON CONFLICT (target_id, hour) DO UPDATE SET
    checks = h.checks + EXCLUDED.checks,
    ok = h.ok + EXCLUDED.ok,
    latency_ms_sum = h.latency_ms_sum + EXCLUDED.latency_ms_sum,
    ${LATENCY_COLUMNS.map((c) => `${c} = h.${c} + EXCLUDED.${c}`).join(",\n    ")}`;

const UPSERT_DAILY = `
  INSERT INTO check_daily AS d (target_id, day, checks, ok, latency_ms_sum)
  SELECT t, to_timestamp(s / 1000.0), c, o, l
  FROM UNNEST($1::text[], $2::bigint[], $3::integer[], $4::integer[], $5::float8[])
    AS u(t, s, c, o, l)
  ORDER BY t, s
  ON CONFLICT (target_id, day) DO UPDATE SET
    checks = d.checks + EXCLUDED.checks,
    ok = d.ok + EXCLUDED.ok,
    latency_ms_sum = d.latency_ms_sum + EXCLUDED.latency_ms_sum`;

const UPSERT_STATUS = `
  INSERT INTO target_status (${STATUS_COLUMNS})
  SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
    $6::uuid[], $7::timestamptz[], $8::boolean[], $9::smallint[], $10::real[], $11::text[],
    $12::text[], $13::timestamptz[])
  ON CONFLICT (target_id) DO UPDATE SET
    name = EXCLUDED.name, url = EXCLUDED.url, method = EXCLUDED.method,
    last_check_id = EXCLUDED.last_check_id, last_checked_at = EXCLUDED.last_checked_at,
    last_ok = EXCLUDED.last_ok, last_status = EXCLUDED.last_status,
    last_total_ms = EXCLUDED.last_total_ms, last_error_kind = EXCLUDED.last_error_kind,
    last_error_message = EXCLUDED.last_error_message, state_since = EXCLUDED.state_since`;

const UPSERT_INCIDENTS = `
  INSERT INTO incidents AS i (target_id, started_at, ended_at, last_failed_at, failed_checks,
    error_kinds, error_message)
  SELECT t, s, e, coalesce(l, s), f, k::text[], m
  FROM UNNEST($1::text[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[],
    $5::integer[], $6::text[], $7::text[]) AS u(t, s, e, l, f, k, m)
  ORDER BY t, s
  ON CONFLICT (target_id, started_at) DO UPDATE SET
    ended_at = coalesce(EXCLUDED.ended_at, i.ended_at),
    last_failed_at = greatest(i.last_failed_at, EXCLUDED.last_failed_at),
    failed_checks = i.failed_checks + EXCLUDED.failed_checks,
    error_kinds = ARRAY(SELECT DISTINCT k FROM unnest(i.error_kinds || EXCLUDED.error_kinds) k ORDER BY k),
    error_message = coalesce(i.error_message, EXCLUDED.error_message)`;

/** Renumbers the `$n` parameters of a statement by `offset`. */
function shiftParams(sql: string, offset: number): string {
  return sql.replace(/\$(\d+)/g, (_, n) => `$${Number(n) + offset}`);
}

/**
 * All four upserts as one statement (data-modifying CTEs always run to completion), so a batch
 * pays one round trip for its aggregates instead of four. Parameters: hourly 1-6, daily 7-11,
 * statuses 12-24, incidents 25-31.
 */
const UPSERT_AGGREGATES = `
  WITH hourly AS (${UPSERT_HOURLY}),
  daily AS (${shiftParams(UPSERT_DAILY, 6)}),
  statuses AS (${shiftParams(UPSERT_STATUS, 11)})
  ${shiftParams(UPSERT_INCIDENTS, 24)}`;

/** Applies a batch's new rows to the aggregate tables, inside the caller's transaction. */
export async function applyAggregates(
  client: PoolClient,
  rows: readonly CheckRow[],
): Promise<void> {
  if (rows.length === 0) return;
  const targetIds = [...new Set(rows.map((row) => row.targetId))].sort();
  const current = await readStatuses(client, targetIds);
  const changes = summarizeRows(rows, current);
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  const h = changes.hourly;
  const d = changes.daily;
  const s = changes.statuses;
  const n = changes.incidents;
  await client.query(UPSERT_AGGREGATES, [
    h.map((x) => x.targetId),
    h.map((x) => x.start),
    h.map((x) => x.checks),
    h.map((x) => x.ok),
    h.map((x) => x.latencyMsSum),
    h.map((x) => `{${x.buckets.join(",")}}`),
    d.map((x) => x.targetId),
    d.map((x) => x.start),
    d.map((x) => x.checks),
    d.map((x) => x.ok),
    d.map((x) => x.latencyMsSum),
    s.map((x) => x.targetId),
    s.map((x) => x.name),
    s.map((x) => x.url),
    s.map((x) => x.method),
    s.map((x) => iso(x.firstCheckedAt)),
    s.map((x) => x.lastCheckId),
    s.map((x) => iso(x.lastCheckedAt)),
    s.map((x) => x.lastOk),
    s.map((x) => x.lastStatus),
    s.map((x) => x.lastTotalMs),
    s.map((x) => x.lastErrorKind),
    s.map((x) => x.lastErrorMessage),
    s.map((x) => iso(x.stateSince)),
    n.map((x) => x.targetId),
    n.map((x) => iso(x.startedAt)),
    n.map((x) => iso(x.endedAt)),
    n.map((x) => iso(x.lastFailedAt)),
    n.map((x) => x.failedChecks),
    n.map((x) => `{${x.errorKinds.map((k) => JSON.stringify(k)).join(",")}}`),
    n.map((x) => x.errorMessage),
  ]);
}

/**
 * The read API's queries. Each one reads an index or the aggregates the writer maintains
 * (`target_status`, `check_hourly`, `check_daily`, `incidents`), never a scan of raw partitions:
 * raw checks are read only through the `(target_id, checked_at)` index, newest first, a page at a
 * time.
 *
 * Uptime windows are aligned to the hour: "24 h" is the current hour and the 24 before it. Whole
 * days inside a window come from `check_daily`, the hours at its edges from `check_hourly`.
 *
 * Needs only something with a node-postgres `query` method, such as a @neondatabase/serverless
 * Pool, so it runs wherever that driver does.
 *
 * @module
 */
import { LATENCY_COLUMNS, latencyQuantile } from "../db/aggregates.ts";

/** What the store needs of a database connection (a Pool of @neondatabase/serverless fits). */
export interface Queryable {
  query(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[] }>;
}

/** A target as the API lists it. */
export interface TargetSummary {
  id: string;
  name: string;
  url: string;
  method: string;
  state: "up" | "down";
  since: string;
  first_checked_at: string;
  last_check: {
    id: string;
    checked_at: string;
    ok: boolean;
    status: number | null;
    total_ms: number;
    error: { kind: string; message: string | null } | null;
  };
  /** Share of checks that passed, 0..1; null without checks in the window. */
  uptime: { "24h": number | null; "7d": number | null; "30d": number | null };
  /** Latency of successful checks over 24 h, estimated from the hourly histograms. */
  latency_ms: { p50: number | null; p95: number | null };
}

/** A target's id, name and state. */
export interface TargetState {
  id: string;
  name: string;
  state: "up" | "down";
}

/** One raw check. */
export interface CheckRecord {
  id: string;
  checked_at: string;
  scheduled_at: string;
  location: string;
  monitor: string;
  ok: boolean;
  status: number | null;
  error: { kind: string; message: string | null } | null;
  timings_ms: {
    dns: number | null;
    connect: number | null;
    tls: number | null;
    ttfb: number | null;
    total: number;
  };
  bytes: number;
  redirects: number;
  final_url: string;
  regex_match: boolean | null;
  tls_expires_at: string | null;
}

/** A run of consecutive failed checks. */
export interface IncidentRecord {
  started_at: string;
  /** The first passing check after the failures; null while the target is still failing. */
  ended_at: string | null;
  /** From start to end, or to now while open. */
  duration_s: number;
  last_failed_at: string;
  failed_checks: number;
  error_kinds: string[];
  first_error: string | null;
}

/** A page of newest-first records and the cursor of the next one. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Range and paging of a list request. */
export interface ListQuery {
  from: Date | null;
  to: Date | null;
  limit: number;
  cursor: Cursor | null;
}

/** Where the previous page ended. */
export interface Cursor {
  at: Date;
  id: string;
}

/** One day of one target, for the status page. */
export interface DayBar {
  day: string;
  checks: number;
  ok: number;
}

/** One hour's mean latency of one target, for the status page. */
export interface LatencyPoint {
  hour: string;
  ms: number;
}

/** An incident with its target's name, for the status page. */
export interface RecentIncident extends IncidentRecord {
  target_id: string;
}

/** The queries behind the read API and the status page. */
export interface ReadStore {
  /** Every target, or those of `ids`, by name. */
  listTargets(ids?: string[]): Promise<TargetSummary[]>;
  /** Every target's id, name and state, by name: cheap, for ordering and counting. */
  listStates(): Promise<TargetState[]>;
  getTarget(id: string): Promise<TargetSummary | null>;
  targetExists(id: string): Promise<boolean>;
  listChecks(id: string, query: ListQuery): Promise<Page<CheckRecord>>;
  listIncidents(id: string, query: ListQuery): Promise<Page<IncidentRecord>>;
  dailyBars(ids: string[], days: number): Promise<Map<string, DayBar[]>>;
  hourlyLatency(ids: string[], hours: number): Promise<Map<string, LatencyPoint[]>>;
  recentIncidents(limit: number): Promise<RecentIncident[]>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Encodes a cursor as an opaque URL-safe string. */
export function encodeCursor(cursor: Cursor): string {
  return btoa(`${cursor.at.toISOString()}|${cursor.id}`).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Decodes a cursor; null when it is not one this API made. */
export function decodeCursor(text: string): Cursor | null {
  try {
    const [at, id, ...rest] = atob(text.replace(/-/g, "+").replace(/_/g, "/")).split("|");
    if (rest.length > 0 || !at || !id) return null;
    const date = new Date(at);
    if (Number.isNaN(date.getTime()) || date.toISOString() !== at) return null;
    return { at: date, id };
  } catch {
    return null;
  }
}

/** The start of each uptime window and the whole days inside it, for a clock reading. */
export function uptimeWindows(now: number): Record<string, Date> {
  const floorHour = (ms: number) => ms - (ms % HOUR_MS);
  const ceilDay = (ms: number) => Math.ceil(ms / DAY_MS) * DAY_MS;
  const s24 = floorHour(now - DAY_MS);
  const s7 = floorHour(now - 7 * DAY_MS);
  const s30 = floorHour(now - 30 * DAY_MS);
  return {
    s24: new Date(s24),
    s7: new Date(s7),
    d7: new Date(ceilDay(s7)),
    s30: new Date(s30),
    d30: new Date(ceilDay(s30)),
    today: new Date(now - (now % DAY_MS)),
  };
}

const BUCKET_SUMS = `ARRAY[${LATENCY_COLUMNS.map((c) => `sum(${c})::integer`).join(", ")}]`;

/** An ISO 8601 UTC text of a timestamptz column, made by the server (cheaper than Date objects). */
const isoText = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

// One statement: the 24 h window (with the latency histogram) from check_hourly; for 7 d and 30 d
// the hours at the window's start and today's hours from check_hourly, the whole days between from
// check_daily; joined to each target's status. $1 24 h start, $2/$3 7 d start and its first whole
// day, $4/$5 the same for 30 d, $6 today, $7 the target ids or null for all.
const SUMMARIES = `
  WITH h24 AS (
    SELECT target_id, sum(checks) AS c24, sum(ok) AS o24, ${BUCKET_SUMS} AS buckets
    FROM check_hourly
    WHERE hour >= $1 AND ($7::text[] IS NULL OR target_id = ANY($7))
    GROUP BY target_id
  ), edges AS (
    SELECT target_id,
      sum(checks) FILTER (WHERE hour < $3 OR hour >= $6) AS c7,
      sum(ok) FILTER (WHERE hour < $3 OR hour >= $6) AS o7,
      sum(checks) FILTER (WHERE hour < $5 OR hour >= $6) AS c30,
      sum(ok) FILTER (WHERE hour < $5 OR hour >= $6) AS o30
    FROM check_hourly
    WHERE ((hour >= $2 AND hour < $3) OR (hour >= $4 AND hour < $5) OR hour >= $6)
      AND ($7::text[] IS NULL OR target_id = ANY($7))
    GROUP BY target_id
  ), days AS (
    SELECT target_id,
      sum(checks) FILTER (WHERE day >= $3) AS c7,
      sum(ok) FILTER (WHERE day >= $3) AS o7,
      sum(checks) AS c30,
      sum(ok) AS o30
    FROM check_daily
    WHERE day >= $5 AND day < $6 AND ($7::text[] IS NULL OR target_id = ANY($7))
    GROUP BY target_id
  )
  SELECT s.target_id, s.name, s.url, s.method, s.last_check_id, s.last_ok, s.last_status,
    s.last_total_ms, s.last_error_kind, s.last_error_message,
    ${isoText("s.state_since")} AS since, ${isoText("s.first_checked_at")} AS first_checked_at,
    ${isoText("s.last_checked_at")} AS last_checked_at,
    coalesce(h24.c24, 0)::integer AS c24, coalesce(h24.o24, 0)::integer AS o24,
    (coalesce(edges.c7, 0) + coalesce(days.c7, 0))::integer AS c7,
    (coalesce(edges.o7, 0) + coalesce(days.o7, 0))::integer AS o7,
    (coalesce(edges.c30, 0) + coalesce(days.c30, 0))::integer AS c30,
    (coalesce(edges.o30, 0) + coalesce(days.o30, 0))::integer AS o30,
    h24.buckets
  FROM target_status s
    LEFT JOIN h24 USING (target_id) LEFT JOIN edges USING (target_id) LEFT JOIN days USING (target_id)
  WHERE $7::text[] IS NULL OR s.target_id = ANY($7)
  ORDER BY s.name, s.target_id`;

const CHECK_COLUMNS =
  "check_id, checked_at, scheduled_at, location, monitor, status, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, bytes, redirects, final_url, regex_match, tls_expires_at, ok, error_kind, error_message";

const INCIDENT_COLUMNS =
  "target_id, started_at, ended_at, last_failed_at, failed_checks, error_kinds, error_message";

/** Creates the store over a database; `now` is the clock the windows are measured from. */
export function createReadStore(
  db: Queryable,
  { now = Date.now }: { now?: () => number } = {},
): ReadStore {
  async function summaries(ids: string[] | null): Promise<TargetSummary[]> {
    const w = uptimeWindows(now());
    const { rows } = await db.query(SUMMARIES, [w.s24, w.s7, w.d7, w.s30, w.d30, w.today, ids]);
    const ratio = (ok: unknown, checks: unknown) =>
      checks === 0 ? null : (ok as number) / (checks as number);
    const round = (x: number | null) => x === null ? null : Math.round(x * 10) / 10;
    return rows.map((s) => {
      const buckets = (s.buckets as number[] | null) ?? [];
      return {
        id: s.target_id as string,
        name: s.name as string,
        url: s.url as string,
        method: s.method as string,
        state: s.last_ok ? "up" : "down",
        since: s.since as string,
        first_checked_at: s.first_checked_at as string,
        last_check: {
          id: s.last_check_id as string,
          checked_at: s.last_checked_at as string,
          ok: s.last_ok as boolean,
          status: s.last_status as number | null,
          total_ms: s.last_total_ms as number,
          error: s.last_ok ? null : {
            kind: (s.last_error_kind as string | null) ?? "unknown",
            message: s.last_error_message as string | null,
          },
        },
        uptime: {
          "24h": ratio(s.o24, s.c24),
          "7d": ratio(s.o7, s.c7),
          "30d": ratio(s.o30, s.c30),
        },
        latency_ms: {
          p50: round(latencyQuantile(buckets, 0.5)),
          p95: round(latencyQuantile(buckets, 0.95)),
        },
      } satisfies TargetSummary;
    });
  }

  async function listChecks(id: string, query: ListQuery): Promise<Page<CheckRecord>> {
    const { rows } = await db.query(
      `SELECT ${CHECK_COLUMNS} FROM checks
       WHERE target_id = $1 AND checked_at >= $2 AND checked_at < $3
         AND ($5::uuid IS NULL OR (checked_at <= $4 AND (checked_at, check_id) < ($4, $5::uuid)))
       ORDER BY checked_at DESC, check_id DESC
       LIMIT $6`,
      [
        id,
        query.from ?? "-infinity",
        query.to ?? "infinity",
        query.cursor?.at ?? null,
        query.cursor?.id ?? null,
        query.limit + 1,
      ],
    );
    return page(
      rows,
      query.limit,
      (r) => ({ at: r.checked_at as Date, id: r.check_id as string }),
      (r) => ({
        id: r.check_id as string,
        checked_at: iso(r.checked_at),
        scheduled_at: iso(r.scheduled_at),
        location: r.location as string,
        monitor: r.monitor as string,
        ok: r.ok as boolean,
        status: r.status as number | null,
        error: r.ok ? null : {
          kind: (r.error_kind as string | null) ?? "unknown",
          message: r.error_message as string | null,
        },
        timings_ms: {
          dns: r.dns_ms as number | null,
          connect: r.connect_ms as number | null,
          tls: r.tls_ms as number | null,
          ttfb: r.ttfb_ms as number | null,
          total: r.total_ms as number,
        },
        bytes: Number(r.bytes),
        redirects: r.redirects as number,
        final_url: r.final_url as string,
        regex_match: r.regex_match as boolean | null,
        tls_expires_at: r.tls_expires_at ? iso(r.tls_expires_at) : null,
      }),
    );
  }

  function incident(r: Record<string, unknown>): IncidentRecord {
    const started = (r.started_at as Date).getTime();
    const ended = r.ended_at ? (r.ended_at as Date).getTime() : null;
    return {
      started_at: iso(r.started_at),
      ended_at: ended === null ? null : iso(r.ended_at),
      duration_s: Math.max(0, Math.round(((ended ?? now()) - started) / 1000)),
      last_failed_at: iso(r.last_failed_at),
      failed_checks: r.failed_checks as number,
      error_kinds: r.error_kinds as string[],
      first_error: r.error_message as string | null,
    };
  }

  async function listIncidents(id: string, query: ListQuery): Promise<Page<IncidentRecord>> {
    // An incident is in range when it overlaps it; the cursor is the last start seen.
    const { rows } = await db.query(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents
       WHERE target_id = $1 AND started_at < $3 AND coalesce(ended_at, 'infinity') >= $2
         AND ($4::timestamptz IS NULL OR started_at < $4)
       ORDER BY started_at DESC
       LIMIT $5`,
      [
        id,
        query.from ?? "-infinity",
        query.to ?? "infinity",
        query.cursor?.at ?? null,
        query.limit + 1,
      ],
    );
    return page(rows, query.limit, (r) => ({ at: r.started_at as Date, id: "incident" }), incident);
  }

  return {
    listTargets: (ids) => summaries(ids ?? null),
    getTarget: async (id) => (await summaries([id]))[0] ?? null,
    async listStates() {
      const { rows } = await db.query(
        "SELECT target_id, name, last_ok FROM target_status ORDER BY name, target_id",
      );
      return rows.map((r) => ({
        id: r.target_id as string,
        name: r.name as string,
        state: r.last_ok ? "up" : "down",
      }));
    },
    targetExists: async (id) =>
      (await db.query("SELECT 1 FROM target_status WHERE target_id = $1", [id])).rows.length > 0,
    listChecks,
    listIncidents,
    async dailyBars(ids, days) {
      const today = now() - (now() % DAY_MS);
      const { rows } = await db.query(
        `SELECT target_id, day, checks, ok FROM check_daily
         WHERE target_id = ANY($1::text[]) AND day >= $2 ORDER BY target_id, day`,
        [ids, new Date(today - (days - 1) * DAY_MS)],
      );
      return groupBy(rows, (r) => ({
        day: iso(r.day).slice(0, 10),
        checks: r.checks as number,
        ok: r.ok as number,
      }));
    },
    async hourlyLatency(ids, hours) {
      const current = now() - (now() % HOUR_MS);
      const { rows } = await db.query(
        `SELECT target_id, hour, ok, latency_ms_sum FROM check_hourly
         WHERE target_id = ANY($1::text[]) AND hour >= $2 AND ok > 0 ORDER BY target_id, hour`,
        [ids, new Date(current - (hours - 1) * HOUR_MS)],
      );
      return groupBy(rows, (r) => ({
        hour: iso(r.hour),
        ms: Number(r.latency_ms_sum) / Number(r.ok),
      }));
    },
    async recentIncidents(limit) {
      const { rows } = await db.query(
        `SELECT ${INCIDENT_COLUMNS} FROM incidents ORDER BY started_at DESC LIMIT $1`,
        [limit],
      );
      return rows.map((r) => ({ target_id: r.target_id as string, ...incident(r) }));
    },
  };
}

function iso(value: unknown): string {
  return (value instanceof Date ? value : new Date(value as string)).toISOString();
}

function page<T>(
  rows: Record<string, unknown>[],
  limit: number,
  cursorOf: (row: Record<string, unknown>) => Cursor,
  map: (row: Record<string, unknown>) => T,
): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return {
    items: kept.map(map),
    nextCursor: more ? encodeCursor(cursorOf(kept[kept.length - 1]!)) : null,
  };
}

function groupBy<T>(
  rows: Record<string, unknown>[],
  map: (row: Record<string, unknown>) => T,
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const id = row.target_id as string;
    let list = groups.get(id);
    if (!list) groups.set(id, list = []);
    list.push(map(row));
  }
  return groups;
}

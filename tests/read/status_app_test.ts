import assert from "node:assert/strict";
import { createPool } from "../../src/db/create_pool.ts";
import { migrate } from "../../src/db/migrate.ts";
import { ensurePartitions, utcDay } from "../../src/db/partitions.ts";
import { storeBatch } from "../../src/db/store_batch.ts";
import { createReadStore } from "../../src/read/read_store.ts";
import { createStatusApp, parseListQuery } from "../../src/read/status_app.tsx";
import { parseCheckMessage } from "../../src/writer/parse_check_message.ts";
import type { CheckRow } from "../../src/writer/parse_check_message.ts";
import { checkMessage, withTempDatabase } from "../_helpers.ts";

const NOW = Date.UTC(2026, 10, 20, 12, 40, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function row(target: string, at: number, ok: boolean, totalMs = 50): CheckRow {
  const parsed = parseCheckMessage(new TextEncoder().encode(JSON.stringify(checkMessage({
    target_id: target,
    name: `Target ${target}`,
    url: `https://${target}.example/`,
    started_at: new Date(at).toISOString(),
    total_ms: totalMs,
    ok,
    status: ok ? 200 : 503,
    error: ok ? null : { kind: "status", message: "unexpected status 503" },
  }))));
  assert.ok("row" in parsed, JSON.stringify(parsed));
  return parsed.row;
}

/** Ten days of checks every 30 minutes for two targets; "bbbb" has been down for 2 hours. */
function dataset(): CheckRow[] {
  const rows: CheckRow[] = [];
  for (let at = NOW - 10 * DAY; at <= NOW; at += 30 * 60_000) {
    // Target a: an outage of five checks 8 days ago and one of three checks 20 hours ago.
    const ageH = (NOW - at) / HOUR;
    const aFails = (ageH > 190 && ageH <= 192.5) || (ageH > 19 && ageH <= 20.5);
    rows.push(row("aaaa", at, !aFails, 40 + (at / 60_000) % 20));
    rows.push(row("bbbb", at, ageH >= 2.5, 400));
  }
  return rows;
}

async function withApp(
  fn: (app: ReturnType<typeof createStatusApp>, rows: CheckRow[]) => Promise<void>,
  apiToken: string | null = null,
): Promise<void> {
  await withTempDatabase(async (uri) => {
    const pool = await createPool(uri, { max: 4 });
    try {
      await migrate(pool);
      const rows = dataset();
      await ensurePartitions(pool, new Set(rows.map((r) => utcDay(r.checkedAt.getTime()))));
      for (let i = 0; i < rows.length; i += 97) await storeBatch(pool, rows.slice(i, i + 97), []);
      const store = createReadStore(pool, { now: () => NOW });
      await fn(createStatusApp({ store, apiToken, now: () => NOW, pageSize: 1 }), rows);
    } finally {
      await pool.end();
    }
  });
}

function uptimeSince(rows: CheckRow[], target: string, since: number): number {
  const window = rows.filter((r) => r.targetId === target && r.checkedAt.getTime() >= since);
  return window.filter((r) => r.ok).length / window.length;
}

Deno.test("GET /api/targets answers state, since, uptime windows and latency from the aggregates", async () => {
  await withApp(async (app, rows) => {
    const response = await app.request("/api/targets");
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.generated_at, new Date(NOW).toISOString());
    const [a, b] = body.targets;
    assert.deepEqual([a.id, b.id], ["aaaa", "bbbb"]);
    assert.equal(a.state, "up");
    assert.equal(a.since, new Date(NOW - 19 * HOUR).toISOString());
    assert.equal(b.state, "down");
    assert.equal(b.since, new Date(NOW - 2 * HOUR).toISOString());
    assert.deepEqual(b.last_check.error, { kind: "status", message: "unexpected status 503" });
    const floorHour = (ms: number) => ms - (ms % HOUR);
    for (const [key, span] of [["24h", DAY], ["7d", 7 * DAY], ["30d", 30 * DAY]] as const) {
      const expected = uptimeSince(rows, "aaaa", floorHour(NOW - span));
      assert.ok(
        Math.abs(a.uptime[key] - expected) < 1e-9,
        `${key}: ${a.uptime[key]} vs ${expected}`,
      );
    }
    assert.ok(a.uptime["7d"] < 1 && a.uptime["30d"] < a.uptime["7d"]);
    // Latencies of a are 40..59 ms: p50 inside the [50, 75) bucket or below it.
    assert.ok(a.latency_ms.p50 >= 25 && a.latency_ms.p50 <= 75, String(a.latency_ms.p50));
    assert.ok(b.latency_ms.p95 >= 300 && b.latency_ms.p95 < 500, String(b.latency_ms.p95));

    const one = await (await app.request("/api/targets/bbbb")).json();
    assert.deepEqual(one, b);
  });
});

Deno.test("GET /api/targets/:id/checks pages newest first through every check exactly once", async () => {
  await withApp(async (app, rows) => {
    const expected = rows.filter((r) => r.targetId === "aaaa")
      .sort((x, y) => y.checkedAt.getTime() - x.checkedAt.getTime()).map((r) => r.checkId);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/targets/aaaa/checks?limit=100${cursor ? `&cursor=${cursor}` : ""}`;
      const body = await (await app.request(url)).json();
      seen.push(...body.checks.map((c: { id: string }) => c.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor);
    assert.equal(pages, Math.ceil(expected.length / 100));
    assert.deepEqual(seen, expected);

    const from = new Date(NOW - 3 * HOUR).toISOString();
    const ranged = await (await app.request(`/api/targets/bbbb/checks?from=${from}`)).json();
    assert.equal(ranged.checks.length, 7);
    assert.equal(ranged.checks[0].checked_at, new Date(NOW).toISOString());
    assert.equal(ranged.checks[0].ok, false);
    assert.equal(ranged.checks[0].timings_ms.total, 400);
    assert.equal(ranged.next_cursor, null);
  });
});

Deno.test("GET /api/targets/:id/incidents lists failure runs with start, end, duration and kinds", async () => {
  await withApp(async (app) => {
    const body = await (await app.request("/api/targets/aaaa/incidents")).json();
    assert.deepEqual(body.incidents, [
      {
        started_at: new Date(NOW - 20.5 * HOUR).toISOString(),
        ended_at: new Date(NOW - 19 * HOUR).toISOString(),
        duration_s: 1.5 * 3600,
        last_failed_at: new Date(NOW - 19.5 * HOUR).toISOString(),
        failed_checks: 3,
        error_kinds: ["status"],
        first_error: "unexpected status 503",
      },
      {
        started_at: new Date(NOW - 192.5 * HOUR).toISOString(),
        ended_at: new Date(NOW - 190 * HOUR).toISOString(),
        duration_s: 2.5 * 3600,
        last_failed_at: new Date(NOW - 190.5 * HOUR).toISOString(),
        failed_checks: 5,
        error_kinds: ["status"],
        first_error: "unexpected status 503",
      },
    ]);
    const open = await (await app.request("/api/targets/bbbb/incidents?limit=1")).json();
    assert.equal(open.incidents[0].ended_at, null);
    assert.equal(open.incidents[0].duration_s, 2 * 3600);
    assert.equal(open.next_cursor, null);
    const old = await (await app.request(
      `/api/targets/aaaa/incidents?limit=1&to=${new Date(NOW - 100 * HOUR).toISOString()}`,
    )).json();
    assert.equal(old.incidents.length, 1);
    assert.equal(old.incidents[0].failed_checks, 5);
  });
});

Deno.test("the read API answers 400 naming the bad parameter and 404 for unknown targets", async () => {
  await withApp(async (app) => {
    const cases: [string, string][] = [
      ["/api/targets/aaaa/checks?limit=0", "limit"],
      ["/api/targets/aaaa/checks?limit=abc", "limit"],
      ["/api/targets/aaaa/checks?limit=1001", "limit"],
      ["/api/targets/aaaa/checks?from=yesterday", "from"],
      ["/api/targets/aaaa/checks?to=2026-13-45", "to"],
      ["/api/targets/aaaa/checks?from=2026-11-02&to=2026-11-01", "to"],
      ["/api/targets/aaaa/checks?cursor=not-a-cursor", "cursor"],
      ["/api/targets/aaaa/checks?limit=5&limit=6", "limit"],
      ["/api/targets/aaaa/incidents?page=2", "page"],
      ["/api/targets?x=1", "x"],
    ];
    for (const [url, param] of cases) {
      const response = await app.request(url);
      assert.equal(response.status, 400, url);
      assert.match(response.headers.get("content-type") ?? "", /application\/json/);
      const body = await response.json();
      assert.equal(body.param, param, url);
      assert.ok(body.error.includes(param), `${url}: ${body.error}`);
    }
    for (
      const url of ["/api/targets/nope", "/api/targets/nope/checks", "/api/targets/nope/incidents"]
    ) {
      const response = await app.request(url);
      assert.equal(response.status, 404, url);
      assert.match((await response.json()).error, /nope/);
    }
    assert.equal((await app.request("/api/nothing")).status, 404);
  });
});

Deno.test("with a token the API wants it as a bearer token and the status page stays public", async () => {
  await withApp(async (app) => {
    const missing = await app.request("/api/targets");
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
    const wrong = await app.request("/api/targets", { headers: { Authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401);
    const right = await app.request("/api/targets", {
      headers: { Authorization: "Bearer s3cret-token" },
    });
    assert.equal(right.status, 200);
    assert.equal((await app.request("/")).status, 200);
  }, "s3cret-token");
});

Deno.test("GET / renders the page server-side: down targets first, 90 bars, pages, incidents", async () => {
  await withApp(async (app) => {
    const response = await app.request("/");
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    assert.match(html, /<meta http-equiv="refresh" content="60"/);
    assert.match(html, /1 of 2 targets down/);
    // pageSize 1: the down target alone on page 1.
    assert.match(html, /Target bbbb/);
    assert.doesNotMatch(html, /<span class="name">Target aaaa/);
    assert.equal(html.match(/<rect /g)?.length, 90);
    assert.match(html, /Page 1 of 2/);
    assert.match(html, /<span class="ongoing">ongoing<\/span>/);
    assert.doesNotMatch(html, /<script/);
    const second = await (await app.request("/?page=2")).text();
    assert.match(second, /<span class="name">Target aaaa/);
    assert.equal((await app.request("/?page=zero")).status, 400);
  });
});

Deno.test("parseListQuery() accepts dates, RFC 3339 times and no parameters at all", () => {
  assert.deepEqual(parseListQuery(new URLSearchParams()), {
    from: null,
    to: null,
    limit: 100,
    cursor: null,
  });
  const q = parseListQuery(new URLSearchParams("from=2026-11-01&to=2026-11-02T10:00:00%2B02:00"));
  assert.equal(q.from?.toISOString(), "2026-11-01T00:00:00.000Z");
  assert.equal(q.to?.toISOString(), "2026-11-02T08:00:00.000Z");
});

/**
 * End to end: the monitor and the writer spawned as a user runs them, against loopback targets,
 * the real broker and the real PostgreSQL.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createPool } from "../src/db/create_pool.ts";
import {
  eventually,
  readTopic,
  spawnMonitor,
  spawnWriter,
  uniqueName,
  withTempDatabase,
} from "./_helpers.ts";

Deno.test({
  name:
    "monitor and writer together store one row per check the monitor made, with the right outcomes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let flap = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        const { pathname } = new URL(request.url);
        if (pathname === "/healthy") return new Response("service operational");
        if (pathname === "/failing") return new Response("down", { status: 503 });
        if (pathname === "/flapping") {
          return new Response("flap", { status: flap++ % 2 ? 500 : 200 });
        }
        if (pathname === "/slow") {
          await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 3_000))]);
          return new Response("late");
        }
        return new Response("no", { status: 404 });
      },
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    const file = await Deno.makeTempFile({ suffix: ".tsv" });
    await Deno.writeTextFile(
      file,
      [
        "url\tname\tinterval\ttimeout\tregex",
        `${base}/healthy\thealthy\t1s\t800ms\toperational`,
        `${base}/failing\tfailing\t1s\t800ms\t`,
        `${base}/slow\tslow\t1s\t400ms\t`,
        `${base}/flapping\tflapping\t1s\t800ms\t`,
      ].join("\n"),
    );
    const topic = uniqueName("e2e");
    await withTempDatabase(async (uri) => {
      const writer = spawnWriter(uri, ["--topic", topic, "--group-id", uniqueName("e2e")]);
      const monitor = spawnMonitor(["--topic", topic, "--location", "e2e", file]);
      const pool = await createPool(uri);
      try {
        await monitor.waitFor('"message":"monitor started"');
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        monitor.process.kill("SIGTERM");
        assert.equal(await monitor.exit(), 0, monitor.stderr());
        const stopped = JSON.parse(
          monitor.stderr().split("\n").find((l) => l.includes('"monitor stopped"'))!,
        );
        const checks: number = stopped.checks;
        assert.ok(checks >= 12, `only ${checks} checks of 4 targets in 5 s`);

        const produced = await readTopic(topic, checks, { settleMs: 1_000 });
        const producedIds = new Set(produced.map((m) => JSON.parse(m.value).check_id as string));
        assert.equal(producedIds.size, checks);
        await eventually(
          async () =>
            Number((await pool.query("SELECT count(*) FROM checks")).rows[0].count) >= checks,
          `${checks} rows`,
        );
        const { rows } = await pool.query("SELECT * FROM checks");
        assert.equal(rows.length, checks, "one row per check, none twice");
        assert.deepEqual(new Set(rows.map((r) => r.check_id)), producedIds);

        const byName = Map.groupBy(rows, (r) => r.name as string);
        for (const r of byName.get("healthy")!) {
          assert.equal(r.ok, true);
          assert.equal(r.status, 200);
          assert.equal(r.regex_match, true);
          assert.ok(r.connect_ms !== null && r.ttfb_ms !== null && r.total_ms > 0);
          assert.equal(r.location, "e2e");
        }
        for (const r of byName.get("failing")!) {
          assert.equal(r.ok, false);
          assert.equal(r.error_kind, "status");
          assert.equal(r.status, 503);
        }
        for (const r of byName.get("slow")!) {
          assert.equal(r.error_kind, "timeout");
          assert.equal(r.status, null);
          assert.ok(r.total_ms >= 390 && r.total_ms < 1_500, `timeout after ${r.total_ms} ms`);
        }
        const flapping = byName.get("flapping")!;
        assert.ok(
          flapping.some((r) => r.ok) && flapping.some((r) => !r.ok),
          "flapping was not seen both up and down",
        );
        assert.ok(
          flapping.filter((r) => !r.ok).every((r) => r.error_kind === "status" && r.status === 500),
        );
        for (const r of rows) {
          assert.ok(r.checked_at >= r.scheduled_at, "a check started before its slot");
          assert.ok(r.inserted_at >= r.checked_at);
        }
        writer.process.kill("SIGTERM");
        assert.equal(await writer.exit(), 0, writer.stderr());
      } finally {
        await monitor.stop();
        await writer.stop();
        await pool.end();
      }
    });
    release();
    await server.shutdown();
    await Deno.remove(file);
  },
});

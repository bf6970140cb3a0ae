/**
 * src/status_server.ts under `deno serve`, with the permissions of `deno task status`, against a
 * database a writer filled.
 *
 * @module
 */
import assert from "node:assert/strict";
import { taskFlags } from "../../scripts/compile.ts";
import { PG_DRIVER_ENV_VARS } from "../../src/db/create_pool.ts";
import { storeBatch } from "../../src/db/store_batch.ts";
import { createPool } from "../../src/db/create_pool.ts";
import { migrate } from "../../src/db/migrate.ts";
import { ensurePartitions, utcDay } from "../../src/db/partitions.ts";
import { parseCheckMessage } from "../../src/writer/parse_check_message.ts";
import { checkMessage, closedPort, eventually, spawnDeno, withTempDatabase } from "../_helpers.ts";

Deno.test("deno task status may read exactly the settings and driver variables it needs", () => {
  const allowEnv = taskFlags("status").find((flag) => flag.startsWith("--allow-env="))!;
  assert.deepEqual(
    allowEnv.slice("--allow-env=".length).split(",").sort(),
    ["DATABASE_URL", "POSTGRES_URI", "API_TOKEN", "STATUS_TITLE", ...PG_DRIVER_ENV_VARS].sort(),
  );
});

Deno.test("status_server.ts without DATABASE_URL fails at once and says what it needs", async () => {
  const server = spawnDeno([
    "serve",
    "--port",
    String(closedPort()),
    ...taskFlags("status"),
    "src/status_server.ts",
  ]);
  assert.notEqual(await server.exit(), 0);
  assert.match(server.stderr(), /needs DATABASE_URL \(or POSTGRES_URI\)/);
});

Deno.test({
  name: "status_server.ts serves the read API behind API_TOKEN and the page, with no Kafka",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDatabase(async (uri) => {
      const pool = await createPool(uri);
      try {
        await migrate(pool);
        const at = Date.now() - 60_000;
        await ensurePartitions(pool, [utcDay(at)]);
        const parsed = parseCheckMessage(new TextEncoder().encode(JSON.stringify(
          checkMessage({ name: "edge", started_at: new Date(at).toISOString() }),
        )));
        assert.ok("row" in parsed);
        await storeBatch(pool, [parsed.row], []);
      } finally {
        await pool.end();
      }
      const port = closedPort();
      const server = spawnDeno(
        [
          "serve",
          "--host",
          "127.0.0.1",
          "--port",
          String(port),
          ...taskFlags("status"),
          "src/status_server.ts",
        ],
        { DATABASE_URL: uri, API_TOKEN: "edge-token", STATUS_TITLE: "Edge status" },
      );
      try {
        const base = `http://127.0.0.1:${port}`;
        await eventually(async () => (await fetch(`${base}/readyz`)).ok, "ready", 20_000);
        assert.equal((await fetch(`${base}/api/targets`)).status, 401);
        const api = await (await fetch(`${base}/api/targets`, {
          headers: { Authorization: "Bearer edge-token" },
        })).json();
        assert.deepEqual(api.targets.map((t: { name: string }) => t.name), ["edge"]);
        const page = await (await fetch(base)).text();
        assert.match(page, /<title>Edge status<\/title>/);
        assert.doesNotMatch(server.stderr(), /edge-token/);
      } finally {
        server.process.kill("SIGTERM");
        await server.exit();
      }
    });
  },
});

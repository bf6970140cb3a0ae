/**
 * `deno task demo`, the README's "run the main job" command, run as a newcomer would (with its
 * own database and topic so that it leaves the dev data alone).
 *
 * @module
 */
import assert from "node:assert/strict";
import { closedPort, runDeno, uniqueName, withTempDatabase } from "./_helpers.ts";

Deno.test({
  name: "deno task demo runs the pipeline, shows checks arriving in PostgreSQL and stops cleanly",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDatabase(async (uri) => {
      const port = closedPort();
      const { code, stdout, stderr } = await runDeno([
        "task",
        "demo",
        "--local",
        "--duration",
        "10",
        "--every",
        "3",
        "--db-uri",
        uri,
        "--topic",
        uniqueName("demo"),
        "--http-port",
        String(port),
      ]);
      assert.equal(code, 0, stdout + stderr);
      assert.match(stdout, /using local demo targets/);
      const stored = [...stdout.matchAll(/(\d+) checks stored, ([\d.]+) checks\/s/g)].map((m) =>
        Number(m[1])
      );
      assert.ok(stored.length >= 2, stdout);
      assert.ok(stored.at(-1)! > 0, `nothing stored:\n${stdout}`);
      assert.match(stdout, /up {4}shop \(healthy\)\s+200/);
      assert.match(stdout, /DOWN {2}legacy \(503\)\s+status 503/);
      assert.match(stdout, /monitor exited 0, writer exited 0/);
      assert.ok(stdout.includes(`status page: http://127.0.0.1:${port}/`), stdout);
    });
  },
});

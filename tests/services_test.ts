/**
 * The dev services script, run against a second broker of its own (other ports, other state
 * directory) so the shared broker the other tests use is left alone.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ROOT } from "./_helpers.ts";

async function services(action: string, env: Record<string, string>) {
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["scripts/services.sh", action],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, out: decoder.decode(stdout) + decoder.decode(stderr) };
}

function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      if (cmdline.includes("kafka.Kafka") && cmdline.includes(dir)) pids.push(Number(entry.name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

Deno.test("services.sh up is safe to run twice, status reports the broker, down leaves no process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "services_test_" });
  const env = {
    SERVICES_DIR: dir,
    KAFKA_PORT: "19192",
    KAFKA_CONTROLLER_PORT: "19193",
    KAFKA_SSL_PORT: "19194",
    KAFKA_SASL_SSL_PORT: "19195",
    KAFKA_HEAP: "512m",
  };
  try {
    const first = await services("up", env);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /Kafka 3\.9\.\d+ listening on 127\.0\.0\.1:19192/);
    assert.match(first.out, /PostgreSQL listening on 127\.0\.0\.1:5432/);

    const second = await services("up", env);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /already running/);
    assert.equal(processesUsing(dir).length, 1, "a second 'up' started another broker");

    const status = await services("status", env);
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, /Kafka 3\.9\.\d+: running, pid \d+, 127\.0\.0\.1:19192/);

    const down = await services("down", env);
    assert.equal(down.code, 0, down.out);
    assert.deepEqual(processesUsing(dir), [], "a broker process outlived 'down'");

    const after = await services("status", env);
    assert.equal(after.code, 3, after.out);
    assert.match(after.out, /Kafka 3\.9\.\d+: not running/);
  } finally {
    await services("down", env);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("services.sh rejects an unknown action with its usage and exit 2", async () => {
  const { code, out } = await services("sideways", {});
  assert.equal(code, 2);
  assert.match(out, /usage: scripts\/services\.sh up\|down\|status\|reset/);
});

/**
 * Faults under load: with the monitor checking loopback targets and the writer consuming, the
 * broker is killed and restarted, the writer is killed mid-run and restarted, PostgreSQL is
 * restarted, and the monitor is stopped with SIGTERM. After each, the set of check ids in
 * PostgreSQL equals the set the monitor produced (read back from the topic with a separate
 * consumer group), with no duplicates and no dropped results.
 *
 * These tests stop and start the shared dev services; they restore them before they end.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createPool } from "../src/db/create_pool.ts";
import {
  eventually,
  readTopic,
  ROOT,
  type Spawned,
  spawnMonitor,
  spawnWriter,
  uniqueName,
  withTempDatabase,
} from "./_helpers.ts";

const SLOW = { sanitizeOps: false, sanitizeResources: false };

async function services(action: "up" | "down"): Promise<void> {
  const { code, stderr } = await new Deno.Command("bash", {
    args: ["scripts/services.sh", action],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

async function pgCtl(action: "restart" | "start"): Promise<void> {
  const version = [...Deno.readDirSync("/etc/postgresql")].map((e) => e.name).sort().pop()!;
  const { code } = await new Deno.Command("pg_ctlcluster", {
    args: ["--skip-systemctl-redirect", version, "main", action],
    stdout: "null",
    stderr: "null",
  }).output();
  assert.ok(
    code === 0 || (action === "start" && code === 2),
    `pg_ctlcluster ${action} exited ${code}`,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Pipeline {
  writer: Spawned;
  monitor: Spawned;
  startWriter(): Spawned;
}

/**
 * Runs the pipeline, applies `fault` after a few seconds of normal running, lets it run on, stops
 * the monitor with SIGTERM, and compares what reached the topic with what reached PostgreSQL.
 */
async function underFault(
  name: string,
  fault: (pipeline: Pipeline) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("fine"),
  );
  const file = await Deno.makeTempFile({ suffix: ".tsv" });
  const rows = Array.from(
    { length: 20 },
    (_, i) => `http://127.0.0.1:${server.addr.port}/${i}\tt${i}\t1s\t900ms`,
  );
  await Deno.writeTextFile(file, ["url\tname\tinterval\ttimeout", ...rows].join("\n"));
  const topic = uniqueName(`fault_${name}`);
  const group = uniqueName(`fault_${name}`);
  try {
    await withTempDatabase(async (uri) => {
      const startWriter = () => spawnWriter(uri, ["--topic", topic, "--group-id", group]);
      const pipeline: Pipeline = {
        writer: startWriter(),
        monitor: spawnMonitor(["--topic", topic, file]),
        startWriter,
      };
      const pool = await createPool(uri);
      try {
        await pipeline.monitor.waitFor('"message":"monitor started"');
        await sleep(4_000);
        await fault(pipeline);
        await sleep(4_000);
        pipeline.monitor.process.kill("SIGTERM");
        assert.equal(await pipeline.monitor.exit(), 0, pipeline.monitor.stderr().slice(-3000));
        const lines = pipeline.monitor.stderr().split("\n").filter((l) => l.startsWith("{")).map((
          l,
        ) => JSON.parse(l));
        const stopped = lines.find((l) => l.message === "monitor stopped");
        const publisher = lines.find((l) => l.message === "Kafka publisher closed");
        assert.ok(stopped && publisher, pipeline.monitor.stderr().slice(-3000));
        assert.equal(publisher.dropped, 0, "the monitor dropped results");
        assert.equal(publisher.undelivered, 0, "results were not delivered");

        const produced = await readTopic(topic, stopped.checks, {
          settleMs: 2_000,
          timeoutMs: 60_000,
        });
        const producedIds = new Set(produced.map((m) => JSON.parse(m.value).check_id as string));
        assert.equal(producedIds.size, stopped.checks, "the topic lacks checks the monitor made");
        await eventually(
          async () =>
            Number((await pool.query("SELECT count(*) FROM checks")).rows[0].count) >=
              producedIds.size,
          `${producedIds.size} rows after ${name}`,
          90_000,
        );
        const { rows: stored } = await pool.query("SELECT check_id FROM checks");
        assert.equal(stored.length, producedIds.size, "duplicate or extra rows");
        assert.deepEqual(new Set(stored.map((r) => r.check_id)), producedIds);
        console.log(
          `fault ${name}: ${stopped.checks} checks, ${produced.length} messages on the topic ` +
            `(${
              produced.length - producedIds.size
            } resent), ${stored.length} rows, dropped ${publisher.dropped}`,
        );

        // The writer is still up, and stops cleanly when asked.
        pipeline.writer.process.kill("SIGTERM");
        assert.equal(await pipeline.writer.exit(), 0, pipeline.writer.stderr().slice(-3000));
      } finally {
        await pipeline.monitor.stop();
        await pipeline.writer.stop();
        await pool.end();
      }
    });
  } finally {
    await server.shutdown();
    await Deno.remove(file);
  }
}

Deno.test({
  name: "the Kafka broker killed (SIGKILL) and restarted 20 s later: every check stored once",
  ...SLOW,
  async fn() {
    try {
      await underFault("broker", async () => {
        const pid = Number(await Deno.readTextFile(`${ROOT}.services/kafka/kafka.pid`));
        Deno.kill(pid, "SIGKILL");
        await sleep(20_000);
        await services("up");
      });
    } finally {
      await services("up");
    }
  },
});

Deno.test({
  name: "the writer killed (SIGKILL) mid-run and restarted: every check stored once",
  ...SLOW,
  async fn() {
    await underFault("writer", async (pipeline) => {
      pipeline.writer.process.kill("SIGKILL");
      await pipeline.writer.exit();
      await sleep(3_000);
      pipeline.writer = pipeline.startWriter();
    });
  },
});

Deno.test({
  name: "PostgreSQL restarted mid-run: every check stored once",
  ...SLOW,
  async fn() {
    try {
      await underFault("postgres", async () => {
        await pgCtl("restart");
      });
    } finally {
      await pgCtl("start");
    }
  },
});

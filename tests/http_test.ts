/**
 * The HTTP surface of both programs, spawned as a user runs them with `--http-port`, against
 * loopback targets, the real broker and the real PostgreSQL.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createOpsApp } from "../src/http/ops_app.ts";
import { MetricsRegistry } from "../src/metrics/metrics_registry.ts";
import {
  eventually,
  listeningUrl,
  parseExposition,
  type Sample,
  sampleValue,
  spawnMonitor,
  spawnWriter,
  uniqueName,
  withTempDatabase,
} from "./_helpers.ts";

Deno.test("/readyz answers 503 naming each dependency that fails, /healthz 200 regardless", async () => {
  const app = createOpsApp(new MetricsRegistry(), {
    kafka: () => Promise.resolve(null),
    postgres: () => Promise.reject(new Error("connection refused")),
  });
  const ready = await app.request("/readyz");
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), {
    ready: false,
    checks: { kafka: { ok: true }, postgres: { ok: false, error: "connection refused" } },
  });
  assert.equal((await app.request("/healthz")).status, 200);
});

Deno.test({
  name: "both programs serve health, readiness and Prometheus metrics; the writer its read API",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      const { pathname } = new URL(request.url);
      return pathname === "/up" ? new Response("fine") : new Response("down", { status: 503 });
    });
    const base = `http://127.0.0.1:${server.addr.port}`;
    const file = await Deno.makeTempFile({ suffix: ".tsv" });
    await Deno.writeTextFile(
      file,
      ["url\tname\tinterval", `${base}/up\tup\t1s`, `${base}/down\tdown\t1s`].join("\n"),
    );
    const topic = uniqueName("http");
    await withTempDatabase(async (uri) => {
      const writer = spawnWriter(uri, [
        "--topic",
        topic,
        "--group-id",
        uniqueName("http"),
        "--http-port",
        "0",
      ]);
      const monitor = spawnMonitor(["--topic", topic, "--http-port", "0", file]);
      try {
        const monitorUrl = await listeningUrl(monitor);
        const writerUrl = await listeningUrl(writer);
        assert.match(monitorUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);

        // Monitor
        assert.deepEqual(await (await fetch(`${monitorUrl}healthz`)).json(), { status: "ok" });
        let samples: Sample[] = [];
        await eventually(async () => {
          const response = await fetch(`${monitorUrl}metrics`);
          assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
          samples = await parseExposition(await response.text());
          return (sampleValue(samples, "availability_monitor_results_sent_total") ?? 0) >= 4;
        }, "the monitor's results sent");
        const up = { name: "up", url: `${base}/up` };
        const down = { name: "down", url: `${base}/down` };
        assert.equal(sampleValue(samples, "probe_success", up), 1);
        assert.equal(sampleValue(samples, "probe_success", down), 0);
        assert.equal(sampleValue(samples, "probe_http_status_code", down), 503);
        assert.ok(sampleValue(samples, "probe_duration_seconds", up)! > 0);
        assert.ok(
          sampleValue(samples, "availability_monitor_checks_total", {
            result: "failed",
            error_kind: "status",
          })! >= 2,
        );
        assert.ok(
          sampleValue(samples, "availability_monitor_check_phase_seconds_count", {
            phase: "connect",
          })! >= 4,
        );
        assert.ok(sampleValue(samples, "availability_monitor_schedule_lag_seconds_count")! >= 4);
        assert.equal(sampleValue(samples, "availability_monitor_targets"), 2);
        assert.equal(sampleValue(samples, "availability_monitor_results_dropped_total"), 0);
        assert.notEqual(sampleValue(samples, "availability_monitor_checks_in_flight"), undefined);
        const monitorReady = await fetch(`${monitorUrl}readyz`);
        assert.equal(monitorReady.status, 200, await monitorReady.clone().text());
        assert.deepEqual((await monitorReady.json()).checks, { kafka: { ok: true } });

        // Writer
        await eventually(async () => (await fetch(`${writerUrl}readyz`)).status === 200, "ready");
        const writerReady = await (await fetch(`${writerUrl}readyz`)).json();
        assert.deepEqual(writerReady.checks, { postgres: { ok: true }, kafka: { ok: true } });
        await eventually(async () => {
          samples = await parseExposition(await (await fetch(`${writerUrl}metrics`)).text());
          return (sampleValue(samples, "availability_writer_rows_inserted_total") ?? 0) >= 4;
        }, "the writer's rows");
        assert.equal(sampleValue(samples, "availability_writer_dead_letters_total"), 0);
        assert.ok(sampleValue(samples, "availability_writer_partitions")! >= 8);
        assert.ok(sampleValue(samples, "availability_writer_batch_size_count")! >= 1);
        assert.ok(sampleValue(samples, "availability_writer_batch_duration_seconds_sum")! > 0);
        const lags = samples.filter((s) => s.name === "availability_writer_consumer_lag");
        assert.ok(lags.length >= 1 && lags.every((s) => s.labels.topic === topic && s.value >= 0));

        const api = await (await fetch(`${writerUrl}api/targets`)).json();
        assert.deepEqual(
          api.targets.map((t: { name: string; state: string }) => [t.name, t.state]),
          [["down", "down"], ["up", "up"]],
        );
        const page = await fetch(writerUrl);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /1 of 2 targets down/);
      } finally {
        monitor.process.kill("SIGTERM");
        writer.process.kill("SIGTERM");
        const codes = [await monitor.exit(), await writer.exit()];
        await server.shutdown();
        assert.deepEqual(codes, [0, 0], `${monitor.stderr()}\n${writer.stderr()}`);
      }
    });
  },
});

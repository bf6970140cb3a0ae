import assert from "node:assert/strict";
import type { CheckResult } from "../../src/check/check_result.ts";
import { createMonitorMetrics } from "../../src/monitor/monitor_metrics.ts";
import { checkMessage, parseExposition, sampleValue } from "../_helpers.ts";

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

function result(overrides: Partial<CheckResult>): CheckResult {
  return checkMessage({
    started_at: new Date(T0 + 3).toISOString(),
    ...overrides,
  }) as unknown as CheckResult;
}

Deno.test("monitor metrics: blackbox-style gauges per target, counters and histograms per check", async () => {
  let inFlight = 3;
  const metrics = createMonitorMetrics({
    inFlight: () => inFlight,
    targets: () => 2,
    publisher: () => ({ buffered: 7, dropped: 2, sent: 40 }),
  });
  const tls = result({
    target_id: "aaaa",
    name: "secure",
    url: "https://secure.example/",
    tls_ms: 20,
    total_ms: 250,
    tls_expires_at: "2027-01-15T23:59:59.000Z",
  });
  const failed = result({
    target_id: "bbbb",
    name: "broken",
    url: "http://broken.example/",
    ok: false,
    status: null,
    dns_ms: 2,
    connect_ms: null,
    ttfb_ms: null,
    total_ms: 1_000,
    tls_expires_at: null,
    error: { kind: "connect", message: "refused" },
  });
  metrics.observe(tls, T0);
  metrics.observe(failed, T0 - 2_000);
  let samples = await parseExposition(await metrics.registry.render());
  const secure = { target_id: "aaaa", name: "secure", url: "https://secure.example/" };
  const broken = { target_id: "bbbb", name: "broken", url: "http://broken.example/" };
  assert.equal(sampleValue(samples, "probe_success", secure), 1);
  assert.equal(sampleValue(samples, "probe_success", broken), 0);
  assert.equal(
    sampleValue(samples, "probe_ssl_earliest_cert_expiry", secure),
    Date.parse("2027-01-15T23:59:59.000Z") / 1000,
  );
  assert.equal(sampleValue(samples, "probe_ssl_earliest_cert_expiry", broken), undefined);
  assert.equal(sampleValue(samples, "probe_duration_seconds", secure), 0.25);
  assert.equal(sampleValue(samples, "probe_http_status_code", broken), 0);
  assert.equal(
    sampleValue(samples, "availability_monitor_checks_total", { result: "ok", error_kind: "" }),
    1,
  );
  assert.equal(
    sampleValue(samples, "availability_monitor_checks_total", {
      result: "failed",
      error_kind: "connect",
    }),
    1,
  );
  // Phases that did not happen are not observed: connect only for the first check.
  assert.equal(
    sampleValue(samples, "availability_monitor_check_phase_seconds_count", { phase: "connect" }),
    1,
  );
  assert.equal(
    sampleValue(samples, "availability_monitor_check_phase_seconds_count", { phase: "total" }),
    2,
  );
  // Lag: 3 ms and 2,003 ms late.
  const lagSum = sampleValue(samples, "availability_monitor_schedule_lag_seconds_sum")!;
  assert.ok(Math.abs(lagSum - 2.006) < 1e-9, String(lagSum));
  assert.equal(
    sampleValue(samples, "availability_monitor_schedule_lag_seconds_bucket", { le: "0.005" }),
    1,
  );
  assert.equal(sampleValue(samples, "availability_monitor_checks_in_flight"), 3);
  assert.equal(sampleValue(samples, "availability_monitor_results_buffered"), 7);
  assert.equal(sampleValue(samples, "availability_monitor_results_dropped_total"), 2);
  assert.equal(sampleValue(samples, "availability_monitor_results_sent_total"), 40);

  // A renamed target keeps one series; a removed one loses its series.
  inFlight = 0;
  metrics.observe(result({ ...tls, name: "secure-renamed" }), T0);
  metrics.keepTargets(new Set(["aaaa"]));
  samples = await parseExposition(await metrics.registry.render());
  assert.equal(samples.filter((s) => s.name === "probe_success").length, 1);
  assert.equal(sampleValue(samples, "probe_success", { name: "secure-renamed" }), 1);
  assert.equal(sampleValue(samples, "probe_success", broken), undefined);
  assert.equal(sampleValue(samples, "availability_monitor_checks_in_flight"), 0);
});

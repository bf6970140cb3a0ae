import assert from "node:assert/strict";
import { MetricsRegistry } from "../../src/metrics/metrics_registry.ts";
import { parseExposition, sampleValue } from "../_helpers.ts";

Deno.test("MetricsRegistry renders counters, gauges and histograms a Prometheus parser accepts", async () => {
  const registry = new MetricsRegistry();
  const counter = registry.counter("things_total", "Things\nseen", ["kind"]);
  const gauge = registry.gauge("level", "A level");
  const histogram = registry.histogram("wait_seconds", "Waits", [0.1, 1], ["queue"]);
  counter.inc({ kind: 'quote " and \\ back\nslash' });
  counter.inc({ kind: "plain" }, 2);
  let collected = 0;
  registry.onCollect(() => gauge.set(undefined, ++collected * 1.5));
  for (const value of [0.05, 0.1, 0.5, 3]) histogram.observe({ queue: "a" }, value);

  const samples = await parseExposition(await registry.render());
  assert.equal(sampleValue(samples, "things_total", { kind: 'quote " and \\ back\nslash' }), 1);
  assert.equal(sampleValue(samples, "things_total", { kind: "plain" }), 2);
  assert.equal(sampleValue(samples, "level"), 1.5);
  assert.equal(sampleValue(samples, "wait_seconds_bucket", { queue: "a", le: "0.1" }), 2);
  assert.equal(sampleValue(samples, "wait_seconds_bucket", { queue: "a", le: "1" }), 3);
  assert.equal(sampleValue(samples, "wait_seconds_bucket", { queue: "a", le: "+Inf" }), 4);
  assert.equal(sampleValue(samples, "wait_seconds_sum", { queue: "a" }), 3.65);
  assert.equal(sampleValue(samples, "wait_seconds_count", { queue: "a" }), 4);

  counter.remove({ kind: "plain" });
  const again = await parseExposition(await registry.render());
  assert.equal(sampleValue(again, "things_total", { kind: "plain" }), undefined);
  assert.equal(sampleValue(again, "level"), 3);
});

Deno.test("parseExposition() rejects what Prometheus would", async () => {
  const bad = [
    "# TYPE x counter\nx 1\n", // no HELP
    '# HELP x a\n# TYPE x counter\nx{a="1"} 1\nx{a="1"} 2\n', // series twice
    "# HELP x a\n# TYPE x counter\nx one\n", // not a number
    '# HELP h a\n# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
  ];
  for (const text of bad) await assert.rejects(parseExposition(text), Error, text);
});

Deno.test("MetricsRegistry refuses names Prometheus would not accept", () => {
  const registry = new MetricsRegistry();
  assert.throws(() => registry.counter("bad-name", "x"), /Invalid metric name/);
  assert.throws(() => registry.gauge("ok", "x", ["le"]), /Invalid label name/);
  registry.gauge("twice", "x");
  assert.throws(() => registry.gauge("twice", "x"), /twice/);
});

import assert from "node:assert/strict";
import type { ReadStore, TargetSummary } from "../../src/read/read_store.ts";
import { createStatusApp } from "../../src/read/status_app.tsx";
import { humanDuration, percent, uptimeClass } from "../../src/read/status_page.tsx";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

function target(name: string, state: "up" | "down"): TargetSummary {
  return {
    id: name.length.toString(16).padStart(16, "0"),
    name,
    url: "https://example.com/?a=1&b=<2>",
    method: "GET",
    state,
    since: new Date(NOW - 3_600_000).toISOString(),
    first_checked_at: new Date(NOW - 86_400_000).toISOString(),
    last_check: {
      id: "00000000-0000-7000-8000-000000000000",
      checked_at: new Date(NOW).toISOString(),
      ok: state === "up",
      status: state === "up" ? 200 : null,
      total_ms: 12,
      error: state === "up" ? null : { kind: "dns", message: "<b>no such host</b>" },
    },
    uptime: { "24h": 0.99, "7d": null, "30d": 1 },
    latency_ms: { p50: null, p95: 12.3 },
  };
}

/** A store with fixed answers: pure rendering, no database. */
function fakeStore(targets: TargetSummary[]): ReadStore {
  return {
    listTargets: (ids) =>
      Promise.resolve(structuredClone(targets.filter((t) => !ids || ids.includes(t.id)))),
    listStates: () => Promise.resolve(targets.map(({ id, name, state }) => ({ id, name, state }))),
    getTarget: (id) => Promise.resolve(targets.find((t) => t.id === id) ?? null),
    targetExists: (id) => Promise.resolve(targets.some((t) => t.id === id)),
    listChecks: () => Promise.resolve({ items: [], nextCursor: null }),
    listIncidents: () => Promise.resolve({ items: [], nextCursor: null }),
    dailyBars: () => Promise.resolve(new Map()),
    hourlyLatency: () => Promise.resolve(new Map()),
    recentIncidents: () => Promise.resolve([]),
  };
}

Deno.test("the status page escapes names, URLs and error messages from the data", async () => {
  const app = createStatusApp({
    store: fakeStore([target('<script>alert("x")</script>', "down")]),
    now: () => NOW,
    title: "Ops & <friends>",
  });
  const html = await (await app.request("/")).text();
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
  assert.match(html, /<title>Ops &amp; &lt;friends&gt;<\/title>/);
  assert.match(html, /https:\/\/example\.com\/\?a=1&amp;b=&lt;2&gt;/);
  assert.match(html, /&lt;b&gt;no such host&lt;\/b&gt;/);
  assert.match(html, /1 of 1 targets down/);
});

Deno.test("the page and the API are gzipped for clients that accept it", async () => {
  const targets = Array.from({ length: 60 }, (_, i) => target(`target ${i}`, "up"));
  const app = createStatusApp({ store: fakeStore(targets), now: () => NOW });
  for (const path of ["/", "/api/targets"]) {
    const plain = await app.request(path);
    const zipped = await app.request(path, { headers: { "Accept-Encoding": "gzip" } });
    assert.equal(zipped.headers.get("content-encoding"), "gzip", path);
    const body = new Uint8Array(await zipped.arrayBuffer());
    const text = await new Response(
      new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).text();
    assert.equal(text, await plain.text(), path);
    assert.ok(body.length * 4 < text.length, `${path}: ${body.length} of ${text.length} bytes`);
  }
});

Deno.test("the status page says so when nothing is stored and refuses pages that do not exist", async () => {
  const app = createStatusApp({ store: fakeStore([]), now: () => NOW });
  const html = await (await app.request("/")).text();
  assert.match(html, /No checks stored yet/);
  assert.match(html, /None recorded\./);
  assert.equal((await app.request("/?page=2")).status, 404);
});

Deno.test("the page's figures: uptime colours, percentages and durations", () => {
  assert.equal(uptimeClass(0, 0), "none");
  assert.equal(uptimeClass(999, 1000), "good");
  assert.equal(uptimeClass(995, 1000), "fair");
  assert.equal(uptimeClass(960, 1000), "poor");
  assert.equal(uptimeClass(900, 1000), "bad");
  assert.equal(percent(null), "–");
  assert.equal(percent(1), "100%");
  assert.equal(percent(0.99951), "99.95%");
  assert.equal(percent(0.5), "50.0%");
  assert.equal(humanDuration(42), "42 s");
  assert.equal(humanDuration(3_900), "1 h 5 min");
  assert.equal(humanDuration(3 * 86_400 + 7_200), "3 d 2 h");
});

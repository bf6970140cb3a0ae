/**
 * The status page in a real browser: Debian's Chromium, driven by playwright-core, with JavaScript
 * off and a phone-sized viewport, loading the page from a real writer that consumed real messages
 * from the broker into PostgreSQL. Saves a screenshot to .cache/test-output/status-page.png.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createPool } from "../../src/db/create_pool.ts";
import {
  checkMessage,
  eventually,
  listeningUrl,
  produce,
  ROOT,
  spawnWriter,
  uniqueName,
  withTempDatabase,
} from "../_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const HOUR = 3_600_000;
const chromiumMissing = await Deno.stat(CHROMIUM).then(() => false, () => true);
if (chromiumMissing) {
  console.log(
    `status page browser test skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run does)`,
  );
}

/** Five days of checks every two hours: one target fine, one down for 3 hours, one with an old outage. */
function messages(now: number): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  const targets = [
    { id: "a1a1a1a1a1a1a1a1", name: "Checkout API", failing: (_age: number) => false },
    { id: "b2b2b2b2b2b2b2b2", name: "Search", failing: (age: number) => age < 3 * HOUR },
    {
      id: "c3c3c3c3c3c3c3c3",
      name: "Docs",
      failing: (age: number) => age > 48 * HOUR && age <= 54 * HOUR,
    },
  ];
  for (let age = 5 * 24 * HOUR; age >= 0; age -= 2 * HOUR) {
    const at = new Date(now - age - 60_000).toISOString();
    for (const [i, t] of targets.entries()) {
      const failing = t.failing(age);
      out.push({
        key: t.id,
        value: JSON.stringify(checkMessage({
          target_id: t.id,
          name: t.name,
          url: `https://${t.name.toLowerCase().replace(" ", "-")}.example.com/`,
          started_at: at,
          scheduled_at: at,
          ok: !failing,
          status: failing ? null : 200,
          total_ms: failing ? 10_000 : 80 + i * 40 + (age / HOUR) % 7 * 10,
          error: failing ? { kind: "timeout", message: "no response within 10s" } : null,
        })),
      });
    }
  }
  return out;
}

Deno.test({
  name:
    "the status page shows states, 90 daily bars, sparklines and incidents in Chromium without JavaScript",
  ignore: chromiumMissing,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { chromium } = await import("playwright-core");
    const topic = uniqueName("page");
    const batch = messages(Date.now());
    await produce(topic, batch);
    await withTempDatabase(async (uri) => {
      const writer = spawnWriter(uri, [
        "--topic",
        topic,
        "--group-id",
        uniqueName("page"),
        "--http-port",
        "0",
        "--status-title",
        "Example status",
      ]);
      const pool = await createPool(uri);
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      try {
        const url = await listeningUrl(writer);
        await eventually(
          async () =>
            Number((await pool.query("SELECT count(*) FROM checks")).rows[0].count) ===
              batch.length,
          `${batch.length} rows`,
        );
        const context = await browser.newContext({
          javaScriptEnabled: false,
          viewport: { width: 390, height: 844 },
          isMobile: true,
        });
        const page = await context.newPage();
        const response = await page.goto(url);
        assert.equal(response?.status(), 200);
        assert.equal(await page.title(), "Example status");
        assert.equal(
          (await page.textContent(".banner"))?.trim(),
          "1 of 3 targets down",
        );
        const targets = page.locator("li.target");
        assert.equal(await targets.count(), 3);
        // Trouble first.
        assert.equal(await targets.nth(0).getAttribute("data-state"), "down");
        assert.equal(await targets.nth(0).locator(".name").textContent(), "Search");
        assert.match((await targets.nth(0).locator(".meta").textContent()) ?? "", /timeout/);
        for (let i = 0; i < 3; i++) {
          assert.equal(await targets.nth(i).locator("svg.bars rect").count(), 90);
          assert.equal(await targets.nth(i).locator("svg.spark polyline").count(), 1);
        }
        // Docs lost three checks of one day (or of two, across midnight): red, the rest green, and
        // the days before the data grey.
        const docs = page.locator("li.target", { hasText: "Docs" });
        const red = await docs.locator("svg.bars rect.bad").count();
        assert.ok(red === 1 || red === 2, `${red} red days`);
        assert.equal(await docs.locator("svg.bars rect.good").count(), 6 - red);
        assert.equal(await docs.locator("svg.bars rect.none").count(), 84);
        assert.equal(
          await page.locator("li.target", { hasText: "Checkout API" }).locator("rect.good").count(),
          6,
        );
        const incidents = page.locator("li.incident");
        assert.equal(await incidents.count(), 2);
        assert.match((await incidents.nth(0).textContent()) ?? "", /Search\s*ongoing/);
        assert.match((await incidents.nth(1).textContent()) ?? "", /Docs.*6 h 0 min/s);
        // Readable on a phone: nothing wider than the screen.
        const overflow = await page.evaluate(
          "document.documentElement.scrollWidth - document.documentElement.clientWidth",
        );
        assert.equal(overflow, 0);
        const refresh = await page.locator('meta[http-equiv="refresh"]').getAttribute("content");
        assert.equal(refresh, "60");
        await Deno.mkdir(`${ROOT}.cache/test-output`, { recursive: true });
        const shot = `${ROOT}.cache/test-output/status-page.png`;
        await page.screenshot({ path: shot, fullPage: true });
        assert.ok((await Deno.stat(shot)).size > 10_000);
        console.log(`screenshot: ${shot}`);
      } finally {
        await browser.close();
        await pool.end();
        writer.process.kill("SIGTERM");
        assert.equal(await writer.exit(), 0, writer.stderr());
      }
    });
  },
});

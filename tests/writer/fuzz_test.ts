/**
 * A fuzz corpus of 10,000 Kafka messages through the real writer: every message is either a row
 * (stored verbatim) or a dead letter, the writer never stops, and rows plus dead letters equal
 * the messages sent. The corpus comes from a seeded generator, so a failure can be replayed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createPool } from "../../src/db/create_pool.ts";
import {
  checkMessage,
  eventually,
  produce,
  startTestWriter,
  uniqueName,
  withTempDatabase,
} from "../_helpers.ts";

const SEED = 20261123;
const COUNT = 10_000;

/** mulberry32: a small seeded PRNG. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SQLISH = [
  "'; DROP TABLE checks; --",
  "Robert'); DELETE FROM dead_letters;--",
  "\\x00\\x1a $1 $2::text ' OR '1'='1",
  "😀 unicode ✓ 名前 \u202e reversed",
  "line\nbreak\ttab\r\nCRLF",
];

/** The corpus: each value, and whether it must be a row (true), a dead letter (false), or either (null). */
function corpus(): { value: Uint8Array | string | null; valid: boolean | null }[] {
  const rand = random(SEED);
  const pick = <T>(items: T[]) => items[Math.floor(rand() * items.length)]!;
  const out: { value: Uint8Array | string | null; valid: boolean | null }[] = [];
  for (let i = 0; i < COUNT; i++) {
    const kind = i % 10;
    switch (kind) {
      case 0: // random bytes
        out.push({
          value: crypto.getRandomValues(new Uint8Array(1 + Math.floor(rand() * 512))),
          valid: false,
        });
        break;
      case 1: { // deep nesting
        const depth = 1_000 + Math.floor(rand() * 50_000);
        out.push({ value: "[".repeat(depth) + "]".repeat(depth), valid: false });
        break;
      }
      case 2: // a huge string in a text field (over the writer's 8 KiB text limit)
        out.push({
          value: JSON.stringify(
            checkMessage({ name: "n".repeat(20_000 + Math.floor(rand() * 200_000)) }),
          ),
          valid: false,
        });
        break;
      case 3: { // a wrong type in a random field
        const field = pick([
          "status",
          "ok",
          "total_ms",
          "started_at",
          "check_id",
          "bytes",
          "error",
          "redirects",
          "v",
        ]);
        const wrong = pick<unknown>([
          "x",
          1.5,
          -1,
          true,
          null,
          [],
          {},
          1e300,
          "2026-99-99T00:00:00Z",
        ]);
        const message = checkMessage({ [field]: wrong });
        // Some of these are legal (null for status, a large but finite number): either outcome.
        out.push({ value: JSON.stringify(message), valid: null });
        break;
      }
      case 4: // not an object
        out.push({
          value: pick(["null", "42", '"text"', "[1,2,3]", "true", "", "{", "}{"]),
          valid: false,
        });
        break;
      case 5: // an empty message
        out.push({ value: null, valid: false });
        break;
      default: // valid, with SQL-looking and odd text in the text fields
        out.push({
          value: JSON.stringify(
            checkMessage({
              name: pick(SQLISH),
              url: `https://x.example/?q=${encodeURIComponent(pick(SQLISH))}`,
              location: pick(SQLISH),
            }),
          ),
          valid: true,
        });
    }
  }
  return out;
}

Deno.test({
  name:
    "the writer stores or sets aside every message of a 10,000-message fuzz corpus and keeps running",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const messages = corpus();
    await withTempDatabase(async (uri) => {
      const topic = uniqueName("fuzz");
      // Batches under the broker's 1 MB request limit (some messages are a few hundred KB).
      let batch: { value: Uint8Array | string | null }[] = [];
      let size = 0;
      for (const m of messages) {
        const bytes = m.value === null ? 0 : m.value.length;
        if (batch.length > 0 && size + bytes > 800_000) {
          await produce(topic, batch);
          batch = [];
          size = 0;
        }
        batch.push({ value: m.value });
        size += bytes;
      }
      await produce(topic, batch);
      const { stop } = await startTestWriter(uri, topic, {
        partitionsAhead: 1,
        logLevel: "error",
      });
      const pool = await createPool(uri, { max: 2 });
      try {
        const count = async (table: string) =>
          Number((await pool.query(`SELECT count(*) FROM ${table}`)).rows[0].count);
        await eventually(
          async () => (await count("checks")) + (await count("dead_letters")) === COUNT,
          "rows + dead letters = messages",
          120_000,
        );
        const rows = await count("checks");
        const dead = await count("dead_letters");
        const must = messages.filter((m) => m.valid === true);
        const mustNot = messages.filter((m) => m.valid === false).length;
        const either = messages.filter((m) => m.valid === null).length;
        assert.ok(rows >= must.length && rows <= must.length + either, `rows ${rows}`);
        assert.ok(dead >= mustNot && dead <= mustNot + either, `dead letters ${dead}`);
        const stored = new Set(
          (await pool.query("SELECT check_id FROM checks")).rows.map((r) => r.check_id),
        );
        for (const m of must) {
          const id = JSON.parse(m.value as string).check_id;
          assert.ok(stored.has(id), `valid message ${id} was not stored`);
        }
        // Text came back byte for byte.
        const { rows: names } = await pool.query("SELECT DISTINCT name FROM checks ORDER BY name");
        const storedNames = new Set(names.map((r) => r.name));
        for (const text of SQLISH) {
          assert.ok(storedNames.has(text), `${JSON.stringify(text)} was not stored verbatim`);
        }
        // Both tables still exist, whatever the messages said.
        assert.equal(await count("checks"), rows);
        const { rows: reasons } = await pool.query(
          "SELECT split_part(reason, ':', 1) AS reason, count(*) FROM dead_letters GROUP BY 1 ORDER BY 2 DESC",
        );
        assert.ok(reasons.length >= 4, JSON.stringify(reasons));
      } finally {
        await stop();
        await pool.end();
      }
    });
  },
});

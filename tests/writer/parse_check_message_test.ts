import assert from "node:assert/strict";
import { parseCheckMessage } from "../../src/writer/parse_check_message.ts";
import { checkMessage } from "../_helpers.ts";

const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

Deno.test("parseCheckMessage() turns a schema-v1 message into a typed row", () => {
  const message = checkMessage({
    status: 503,
    ok: false,
    error: { kind: "status", message: "unexpected status 503" },
  });
  const parsed = parseCheckMessage(encode(message));
  assert.ok("row" in parsed, JSON.stringify(parsed));
  const { row } = parsed;
  assert.equal(row.checkId, message.check_id);
  assert.equal(row.checkedAt.toISOString(), message.started_at);
  assert.equal(row.status, 503);
  assert.equal(row.ok, false);
  assert.equal(row.errorKind, "status");
  assert.equal(row.errorMessage, "unexpected status 503");
  assert.equal(row.tlsMs, null);
});

Deno.test("parseCheckMessage() keeps SQL-looking and unicode text as it is", () => {
  const name = "'); DROP TABLE checks; -- ✓ 名前";
  const parsed = parseCheckMessage(encode(checkMessage({ name })));
  assert.ok("row" in parsed);
  assert.equal(parsed.row.name, name);
});

Deno.test("parseCheckMessage() gives a reason for every kind of bad message", () => {
  const cases: [Uint8Array | null, RegExp][] = [
    [null, /empty message/],
    [encode("{not json"), /^not JSON/],
    [new Uint8Array([0xff, 0xfe, 0x00]), /^not JSON/],
    [encode("[1,2]"), /not a JSON object/],
    [encode({ ...checkMessage(), v: 2 }), /unsupported schema version 2/],
    [encode({ ...checkMessage(), v: undefined }), /unsupported schema version null/],
    [encode({ ...checkMessage(), check_id: "nope" }), /check_id: expected a UUID/],
    [
      encode({ ...checkMessage(), started_at: "yesterday" }),
      /started_at: expected an ISO 8601 timestamp/,
    ],
    [
      encode({ ...checkMessage(), started_at: "1970-01-01T00:00:00Z" }),
      /between the years 2000 and 9999/,
    ],
    [encode({ ...checkMessage(), status: 42 }), /status: expected a whole number from 100 to 599/],
    [encode({ ...checkMessage(), total_ms: -1 }), /total_ms/],
    [encode({ ...checkMessage(), total_ms: "fast" }), /total_ms/],
    [encode({ ...checkMessage(), name: "a\u0000b" }), /name: contains a NUL character/],
    [encode({ ...checkMessage(), url: "x".repeat(9000) }), /url: longer than 8192/],
    [encode({ ...checkMessage(), ok: false, error: null }), /ok and error disagree/],
    [encode({ ...checkMessage(), ok: true, error: { kind: "lava", message: "x" } }), /error\.kind/],
    [encode({ ...checkMessage(), redirects: 1.5 }), /redirects/],
  ];
  for (const [value, reason] of cases) {
    const parsed = parseCheckMessage(value);
    assert.ok(
      "reason" in parsed,
      `accepted: ${value && new TextDecoder().decode(value).slice(0, 80)}`,
    );
    assert.match(parsed.reason, reason);
  }
});

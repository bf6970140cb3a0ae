import assert from "node:assert/strict";
import { createLogger } from "../../src/log/logger.ts";

const NOW = () => Date.UTC(2026, 10, 23, 12, 0, 0);

Deno.test("createLogger() writes one JSON object per event at or above its level", () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", json: true, write: (l) => lines.push(l), now: NOW });
  logger.debug("hidden");
  logger.info("started", { targets: 3 });
  logger.error("broke", { error: "line one\nline two" });
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: "2026-11-23T12:00:00.000Z",
    level: "info",
    message: "started",
    targets: 3,
  });
  assert.equal(JSON.parse(lines[1]!).error, "line one\nline two");
});

Deno.test("createLogger() in text format keeps every event on one line", () => {
  const lines: string[] = [];
  const logger = createLogger({
    level: "debug",
    json: false,
    write: (l) => lines.push(l),
    now: NOW,
  });
  logger.warn("kafka trouble", {
    stack: "Error: x\n    at y",
    broker: "a:1",
    n: 2,
    nested: { k: 1 },
  });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes("\n"));
  assert.equal(
    lines[0],
    '2026-11-23T12:00:00.000Z WARN  kafka trouble stack="Error: x\\n    at y" broker=a:1 n=2 nested={"k":1}',
  );
});

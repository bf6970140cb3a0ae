import assert from "node:assert/strict";
import { inShard, loadTargets } from "../../src/monitor/load_targets.ts";

const FILE = Array.from({ length: 300 }, (_, i) => `https://site-${i}.example/`).join("\n");

Deno.test("loadTargets() with --shard K/N splits the targets into N disjoint parts that cover them all", async () => {
  const read = () => Promise.resolve(FILE);
  const all = (await loadTargets("t.tsv", null, read)).targets;
  const parts = await Promise.all(
    [0, 1, 2].map(async (index) => (await loadTargets("t.tsv", { index, count: 3 }, read)).targets),
  );
  assert.equal(all.length, 300);
  assert.deepEqual(parts.flat().map((t) => t.id).sort(), all.map((t) => t.id).sort());
  for (const part of parts) assert.ok(part.length > 60, `an unbalanced shard of ${part.length}`);
  assert.ok(all.every((t) => inShard(t, { index: 0, count: 1 })));
});

Deno.test("loadTargets() reports a missing file as an error at line 1", async () => {
  const { errors } = await loadTargets(
    "gone.tsv",
    null,
    () => Promise.reject(new Deno.errors.NotFound("x")),
  );
  assert.deepEqual(errors, [{
    file: "gone.tsv",
    line: 1,
    column: 1,
    message: "cannot read the file: no such file",
  }]);
});

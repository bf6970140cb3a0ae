/**
 * Black-box tests of the availability-writer entrypoint, spawned as `deno task writer` runs it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { permissionFlags } from "../scripts/compile.ts";
import { VERSION } from "../src/version.ts";
import { runDeno } from "./_helpers.ts";

const writer = (args: string[], env?: Record<string, string>) =>
  runDeno(["run", ...permissionFlags("writer"), "src/writer.ts", ...args], { env });

Deno.test("availability-writer --help prints its usage on stdout and exits 0", async () => {
  const { code, stdout, stderr } = await writer(["--help"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^availability-writer \d+\.\d+\.\d+/);
  assert.match(stdout, /--db-uri URI/);
  assert.equal(stderr, "");
});

Deno.test("availability-writer --version prints the version from deno.json", async () => {
  const { code, stdout } = await writer(["-V"]);
  assert.equal(code, 0);
  assert.equal(stdout, `availability-writer ${VERSION}\n`);
});

Deno.test("availability-writer without a database URI says which option is missing and exits 2", async () => {
  const { code, stderr } = await writer([]);
  assert.equal(code, 2);
  assert.match(stderr, /^error: missing --db-uri \(or POSTGRES_URI, DATABASE_URL\)/);
});

/**
 * Black-box tests of the availability-monitor entrypoint, spawned as `deno task monitor` runs it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { permissionFlags } from "../scripts/compile.ts";
import { VERSION } from "../src/version.ts";
import { runDeno } from "./_helpers.ts";

const monitor = (...args: string[]) =>
  runDeno(["run", ...permissionFlags("monitor"), "src/monitor.ts", ...args]);

Deno.test("availability-monitor --help prints its usage on stdout and exits 0", async () => {
  const { code, stdout, stderr } = await monitor("--help");
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^availability-monitor \d+\.\d+\.\d+/);
  assert.match(stdout, /Usage:\n\s+availability-monitor \[options\] TARGETS\.tsv/);
  assert.equal(stderr, "");
});

Deno.test("availability-monitor --version prints the version from deno.json", async () => {
  const { code, stdout } = await monitor("--version");
  assert.equal(code, 0);
  assert.equal(stdout, `availability-monitor ${VERSION}\n`);
});

Deno.test("availability-monitor with an unknown flag says so on stderr and exits 2", async () => {
  const { code, stdout, stderr } = await monitor("--frobnicate");
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(stderr, /^error: Unknown option '--frobnicate'/);
});

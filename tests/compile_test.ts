/**
 * `deno task compile` builds both standalone binaries, and they run.
 *
 * deno compile needs its runtime binary (denort): from DENORT_BIN, or downloaded. Where neither is
 * possible the test is skipped with the reason printed, never passed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { BINARIES } from "../scripts/compile.ts";
import { ROOT, runDeno } from "./_helpers.ts";

async function compileSkipReason(): Promise<string | undefined> {
  if (Deno.env.get("DENORT_BIN")) return undefined;
  const url = `https://dl.deno.land/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  try {
    const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
    if (response.ok) return undefined;
    return `DENORT_BIN is not set and ${url} answered ${response.status}`;
  } catch (error) {
    return `DENORT_BIN is not set and ${url} cannot be downloaded (${(error as Error).message})`;
  }
}

const skipReason = await compileSkipReason();
if (skipReason) console.log(`compile_test: skipped: ${skipReason}`);

Deno.test({
  name: "deno task compile builds both binaries, which answer --help and --version",
  ignore: skipReason !== undefined,
  async fn() {
    const { code, stdout, stderr } = await runDeno(["task", "compile"], {
      env: Deno.env.get("DENORT_BIN") ? { DENORT_BIN: Deno.env.get("DENORT_BIN")! } : {},
    });
    assert.equal(code, 0, stdout + stderr);
    for (const { output } of BINARIES) {
      const binary = `${ROOT}${output}`;
      const name = output.split("/").pop()!;
      const help = await new Deno.Command(binary, { args: ["--help"], stdout: "piped" }).output();
      assert.equal(help.code, 0);
      assert.match(new TextDecoder().decode(help.stdout), new RegExp(`^${name} `));
      const version = await new Deno.Command(binary, { args: ["--version"], stdout: "piped" })
        .output();
      assert.equal(version.code, 0);
    }
  },
});

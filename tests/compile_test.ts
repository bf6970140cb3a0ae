/**
 * `deno task compile` builds both standalone binaries, and they run: --help, --version, and a
 * short real run of each (the monitor checks a loopback target once; the writer stores messages
 * from a topic and exits 0 on SIGTERM).
 *
 * deno compile needs its runtime binary (denort): from DENORT_BIN, or downloaded. Where neither is
 * possible the test is skipped with the reason printed, never passed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { BINARIES } from "../scripts/compile.ts";
import { assertWriterStores, KAFKA_BROKERS, ROOT, runDeno } from "./_helpers.ts";

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

async function run(binary: string, args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(`${ROOT}${binary}`, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test({
  name:
    "deno task compile builds both binaries, which answer --help and --version and do a real run",
  ignore: skipReason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const built = await runDeno(["task", "compile"], {
      env: Deno.env.get("DENORT_BIN") ? { DENORT_BIN: Deno.env.get("DENORT_BIN")! } : {},
    });
    assert.equal(built.code, 0, built.stdout + built.stderr);
    for (const { output } of BINARIES) {
      const name = output.split("/").pop()!;
      const help = await run(output, ["--help"]);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^${name} `));
      assert.equal((await run(output, ["--version"])).code, 0);
    }
    const [monitorBinary, writerBinary] = BINARIES.map((b) => b.output);

    // The monitor binary checks a loopback target once and prints the result.
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("compiled ok"),
    );
    const file = await Deno.makeTempFile({ suffix: ".tsv" });
    await Deno.writeTextFile(file, `http://127.0.0.1:${server.addr.port}/\tcompiled ok\n`);
    try {
      const once = await run(monitorBinary!, ["--once", "--stdout", file]);
      assert.equal(once.code, 0, once.stderr);
      const result = JSON.parse(once.stdout.trim());
      assert.equal(result.v, 1);
      assert.equal(result.ok, true);
      assert.equal(result.regex_match, true);
    } finally {
      await server.shutdown();
      await Deno.remove(file);
    }

    // The writer binary stores messages from a topic, then stops cleanly on SIGTERM.
    await assertWriterStores(`${ROOT}${writerBinary}`, ["--brokers", KAFKA_BROKERS.join(",")]);
  },
});

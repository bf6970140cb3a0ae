/**
 * No secret in any output: both programs run in ways that fail, succeed and ask for help, with
 * distinct secret markers in the SASL password and the database URI, and every line of their
 * stdout and stderr is searched for the markers.
 *
 * @module
 */
import assert from "node:assert/strict";
import { taskFlags } from "../scripts/compile.ts";
import { ADMIN_DB_URI, closedPort, KAFKA_BROKERS, uniqueName } from "./_helpers.ts";

const SASL_SECRET = "sasl-S3cr3t-marker-9f1c";
const DB_SECRET = "db-S3cr3t-marker-77ab";
const MONITOR = ["run", ...taskFlags("monitor"), "src/monitor.ts"];
const WRITER = ["run", ...taskFlags("writer"), "src/writer.ts"];

function dbUri(database: string, host = "127.0.0.1"): string {
  const url = new URL(ADMIN_DB_URI);
  url.hostname = host;
  url.password = DB_SECRET;
  url.pathname = `/${database}`;
  return url.toString();
}

Deno.test({
  name: "no output of the monitor or the writer contains a password, whatever happens",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const targets = await Deno.makeTempFile({ suffix: ".tsv" });
    await Deno.writeTextFile(targets, `http://127.0.0.1:${closedPort()}/\tx\n`);
    const badTargets = await Deno.makeTempFile({ suffix: ".tsv" });
    await Deno.writeTextFile(badTargets, "ftp://nope\n");
    const sasl = [
      "--security-protocol",
      "SASL_PLAINTEXT",
      "--sasl-mechanism",
      "scram-sha-512",
      "--sasl-username",
      "svc",
    ];
    const env = { KAFKA_SASL_PASSWORD: SASL_SECRET, POSTGRES_URI: dbUri("postgres") };
    const runs: [string, string[]][] = [
      ["monitor --help", [...MONITOR, "--help"]],
      ["writer --help", [...WRITER, "--help"]],
      ["monitor, bad targets file", [...MONITOR, ...sasl, badTargets]],
      ["monitor, SASL against a plaintext listener", [
        ...MONITOR,
        ...sasl,
        "--brokers",
        KAFKA_BROKERS.join(","),
        "--once",
        "--log-level",
        "debug",
        targets,
      ]],
      ["writer, missing database", [
        ...WRITER,
        "--db-uri",
        dbUri(uniqueName("missing")),
        "--log-level",
        "debug",
      ]],
      ["writer, unknown host", [
        ...WRITER,
        "--db-uri",
        dbUri("postgres", "no-such-host.invalid"),
        "--log-level",
        "debug",
      ]],
      ["writer, SASL against a plaintext listener", [
        ...WRITER,
        ...sasl,
        "--brokers",
        KAFKA_BROKERS.join(","),
        "--topic",
        uniqueName("secrets"),
        "--log-level",
        "debug",
      ]],
    ];
    try {
      for (const [name, args] of runs) {
        const child = new Deno.Command(Deno.execPath(), {
          args,
          env: { NO_COLOR: "1", ...env },
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        // Runs that would retry for long are stopped after a while; their output so far counts.
        const timer = setTimeout(() => child.kill("SIGTERM"), 15_000);
        const { stdout, stderr } = await child.output();
        clearTimeout(timer);
        const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
        assert.ok(output.length > 0, `${name} printed nothing`);
        for (const secret of [SASL_SECRET, DB_SECRET]) {
          const line = output.split("\n").find((l) => l.includes(secret));
          assert.equal(line, undefined, `${name} printed a secret: ${line}`);
        }
      }
    } finally {
      await Deno.remove(targets);
      await Deno.remove(badTargets);
    }
  },
});

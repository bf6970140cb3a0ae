/**
 * Black-box tests of the availability-monitor entrypoint, spawned as `deno task monitor` runs it,
 * against loopback targets and the real Kafka broker.
 *
 * @module
 */
import assert from "node:assert/strict";
import { taskFlags } from "../scripts/compile.ts";
import {
  closedPort,
  KAFKA_BROKERS,
  readTopic,
  runDeno,
  spawnDeno,
  uniqueName,
} from "./_helpers.ts";
import { parseTsv } from "../src/targets/parse_tsv.ts";
import { KAFKAJS_ENV_VARS } from "../src/kafka/kafka_options.ts";
import { MONITOR_ENV_VARS } from "../src/monitor/monitor_config.ts";
import { VERSION } from "../src/version.ts";

const MONITOR = ["run", ...taskFlags("monitor"), "src/monitor.ts"];
const monitor = (...args: string[]) => runDeno([...MONITOR, ...args]);
const KAFKA = ["--brokers", KAFKA_BROKERS.join(",")];

/** Loopback targets: /ok answers 200, /fail 500, /slow never in time. */
function startTargets() {
  let releaseSlow!: () => void;
  const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/ok") return new Response("all systems operational");
    if (pathname === "/fail") return new Response("broken", { status: 500 });
    if (pathname === "/slow") {
      await slowReleased;
      return new Response("late");
    }
    return new Response("not found", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    base,
    async stop() {
      releaseSlow();
      await server.shutdown();
    },
  };
}

async function writeTargets(text: string): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "targets_", suffix: ".tsv" });
  await Deno.writeTextFile(file, text);
  return file;
}

Deno.test("availability-monitor --help prints its usage on stdout and exits 0", async () => {
  const { code, stdout, stderr } = await monitor("--help");
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^availability-monitor \d+\.\d+\.\d+/);
  assert.match(stdout, /Usage:\n\s+availability-monitor \[options\] TARGETS\.tsv/);
  for (
    const flag of [
      "--once",
      "--shard K/N",
      "--location",
      "--stdout",
      "--brokers",
      "--sasl-mechanism",
    ]
  ) {
    assert.ok(stdout.includes(flag), `--help does not mention ${flag}`);
  }
  assert.equal(stderr, "");
});

Deno.test("availability-monitor --version prints the version from deno.json", async () => {
  const { code, stdout } = await monitor("--version");
  assert.equal(code, 0);
  assert.equal(stdout, `availability-monitor ${VERSION}\n`);
});

Deno.test("availability-monitor with an unknown flag or a bad option value exits 2 saying why", async () => {
  const unknown = await monitor("--frobnicate");
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, "");
  assert.match(unknown.stderr, /^error: Unknown option '--frobnicate'/);
  const shard = await monitor("--shard", "4/3", "example.tsv");
  assert.equal(shard.code, 2);
  assert.match(shard.stderr, /^error: Cannot use --shard "4\/3": expected K\/N with 1 <= K <= N/);
  const missing = await monitor();
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing the targets file/);
});

Deno.test("the monitor task allows exactly the environment variables the monitor and kafkajs read", () => {
  const allowEnv = taskFlags("monitor").find((flag) => flag.startsWith("--allow-env="))!;
  assert.deepEqual(
    allowEnv.slice("--allow-env=".length).split(",").sort(),
    [...MONITOR_ENV_VARS, ...KAFKAJS_ENV_VARS].sort(),
  );
});

Deno.test("availability-monitor exits 2 with every problem of a bad targets file, before connecting to Kafka", async () => {
  const file = await writeTargets(
    "url\tinterval\nhttps://ok.example\t1m\nftp://x\t5x\n\nnot a url\n",
  );
  try {
    // A broker address where nothing listens: trying to connect would end in exit 1, not 2.
    const started = performance.now();
    const { code, stderr, stdout } = await monitor("--brokers", `127.0.0.1:${closedPort()}`, file);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, "");
    assert.ok(stderr.includes(`${file}:3:1: unsupported URL scheme "ftp:"`), stderr);
    assert.ok(stderr.includes(`${file}:3:2: cannot parse interval "5x"`), stderr);
    assert.ok(stderr.includes(`${file}:5:1: cannot parse URL "not a url"`), stderr);
    assert.match(stderr, /error: 3 problems in /);
    assert.ok(performance.now() - started < 10_000);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test({
  name:
    "availability-monitor --once publishes one schema-v1 message per target, keyed by target id, and exits 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const targets = startTargets();
    const topic = uniqueName("monitor_once");
    const text = [
      "url\tname\ttimeout\tregex",
      `${targets.base}/ok\thealthy\t2s\toperational`,
      `${targets.base}/fail\tfailing\t2s\t`,
      `${targets.base}/slow\tslow\t500ms\t`,
      `http://127.0.0.1:${closedPort()}/\tclosed\t2s\t`,
      `${targets.base}/ok\tno-match\t2s\tmaintenance`,
    ].join("\n");
    const file = await writeTargets(text);
    try {
      const { code, stderr } = await runDeno([
        ...MONITOR,
        ...KAFKA,
        "--once",
        "--topic",
        topic,
        "--location",
        "lab",
        file,
      ]);
      assert.equal(code, 0, stderr);
      const messages = await readTopic(topic, 5);
      assert.equal(messages.length, 5);
      const ids = new Map(parseTsv(text, file).targets.map((t) => [t.name, t.id]));
      const byName = new Map(messages.map((m) => [JSON.parse(m.value).name as string, m]));
      for (const [name, id] of ids) {
        const message = byName.get(name);
        assert.ok(message, `no message for ${name}`);
        assert.equal(message.key, id, `key of ${name}`);
        const value = JSON.parse(message.value);
        assert.equal(value.v, 1);
        assert.equal(value.target_id, id);
        assert.equal(value.location, "lab");
        assert.match(value.check_id, /^[0-9a-f-]{36}$/);
        for (
          const field of [
            "scheduled_at",
            "started_at",
            "total_ms",
            "status",
            "dns_ms",
            "connect_ms",
            "tls_ms",
            "ttfb_ms",
            "bytes",
            "regex_match",
            "tls_expires_at",
            "ok",
            "error",
          ]
        ) {
          assert.ok(field in value, `${name} lacks ${field}`);
        }
      }
      const value = (name: string) => JSON.parse(byName.get(name)!.value);
      assert.equal(value("healthy").ok, true);
      assert.equal(value("healthy").regex_match, true);
      assert.equal(value("failing").error.kind, "status");
      assert.equal(value("slow").error.kind, "timeout");
      assert.equal(value("closed").error.kind, "connect");
      assert.equal(value("no-match").error.kind, "regex");
    } finally {
      await Deno.remove(file);
      await targets.stop();
    }
  },
});

Deno.test({
  name:
    "availability-monitor on SIGTERM stops scheduling, finishes checks in flight, flushes every result and exits 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const targets = startTargets();
    const topic = uniqueName("monitor_sigterm");
    const rows = Array.from({ length: 5 }, (_, i) => `${targets.base}/ok?n=${i}\tt${i}\t1s\t900ms`);
    const file = await writeTargets(["url\tname\tinterval\ttimeout", ...rows].join("\n"));
    const child = spawnDeno([...MONITOR, ...KAFKA, "--topic", topic, "--log-format", "json", file]);
    try {
      await child.waitFor('"message":"monitor started"');
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      child.process.kill("SIGTERM");
      assert.equal(await child.exit(), 0, child.stderr());
      const stopped = child.stderr().split("\n").filter((l) => l.includes('"monitor stopped"')).map(
        (l) => JSON.parse(l),
      );
      assert.equal(stopped.length, 1, child.stderr());
      const checks: number = stopped[0].checks;
      assert.ok(checks >= 10, `only ${checks} checks in 3.5 s of 5 targets every second`);
      const messages = await readTopic(topic, checks, { settleMs: 1_000 });
      assert.equal(messages.length, checks, "every check reached Kafka, none twice");
      assert.equal(new Set(messages.map((m) => JSON.parse(m.value).check_id)).size, checks);
    } finally {
      await child.stop();
      await Deno.remove(file);
      await targets.stop();
    }
  },
});

Deno.test({
  name:
    "availability-monitor reloads the targets file on change and on SIGHUP, keeping the running set when it has errors",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const targets = startTargets();
    const header = "url\tname\tinterval\ttimeout";
    const first = `${targets.base}/ok?a\tfirst\t1s\t900ms`;
    const second = `${targets.base}/ok?b\tsecond\t1s\t900ms`;
    const file = await writeTargets([header, first].join("\n"));
    const child = spawnDeno([...MONITOR, "--stdout", "--log-format", "json", file]);
    try {
      await child.waitFor('"name":"first"', 10_000, "stdout");
      await Deno.writeTextFile(file, [header, first, second].join("\n"));
      await child.waitFor(
        /"message":"targets reloaded","reason":"file changed","targets":2,"added":1/,
      );
      await child.waitFor('"name":"second"', 10_000, "stdout");

      await Deno.writeTextFile(file, [header, first, "gopher://nope\tbad"].join("\n"));
      await child.waitFor("reload failed; keeping the running targets");
      assert.match(child.stderr(), /reload: .*:3:1: unsupported URL scheme \\"gopher:\\"/);
      const before = child.stdout().split('"name":"second"').length;
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      assert.ok(
        child.stdout().split('"name":"second"').length > before,
        "the running targets stopped after a bad reload",
      );

      await Deno.writeTextFile(file, [header, second].join("\n"));
      await child.waitFor(/"reason":"file changed","targets":1,"added":0,"removed":1/);
      child.process.kill("SIGHUP");
      await child.waitFor(/"reason":"SIGHUP","targets":1,"added":0,"removed":0,"changed":0/);
      child.process.kill("SIGTERM");
      assert.equal(await child.exit(), 0, child.stderr());
      for (const line of child.stdout().trim().split("\n")) assert.equal(JSON.parse(line).v, 1);
    } finally {
      await child.stop();
      await Deno.remove(file);
      await targets.stop();
    }
  },
});

Deno.test("README.md lists the monitor's options exactly as --help prints them", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const { stdout } = await monitor("--help");
  const options = stdout.slice(stdout.indexOf("Checks:"));
  assert.ok(readme.includes(options.trimEnd()), "README.md's monitor options differ from --help");
});

Deno.test({
  name: "availability-monitor keeps other targets on schedule while catastrophic regexes run",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const evil = `${"a".repeat(50_000)}b`;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => new Response(new URL(request.url).pathname === "/evil" ? evil : "fine"),
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    const rows = [
      `${base}/evil?1\tevil-1\t1s\t900ms\t(a+)+$`,
      `${base}/evil?2\tevil-2\t1s\t900ms\t(a+)+$`,
      ...Array.from({ length: 5 }, (_, i) => `${base}/fine?${i}\tfine-${i}\t1s\t900ms\t`),
    ];
    const file = await writeTargets(["url\tname\tinterval\ttimeout\tregex", ...rows].join("\n"));
    const child = spawnDeno([...MONITOR, "--stdout", "--log-level", "warn", file]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5_500));
      child.process.kill("SIGTERM");
      assert.equal(await child.exit(), 0, child.stderr());
      const results = child.stdout().trim().split("\n").map((line) => JSON.parse(line));
      const evilResults = results.filter((r) => r.name.startsWith("evil"));
      const fine = results.filter((r) => r.name.startsWith("fine"));
      assert.ok(evilResults.length >= 6, `${evilResults.length} evil checks`);
      for (const r of evilResults) {
        assert.equal(r.error.kind, "regex");
        // Bounded by the 900 ms timeout; the slack covers stopping a worker that holds a core
        // while two of them spin on a two-core machine. Unbounded, these regexes run for hours.
        assert.ok(r.total_ms < 1_500, `an evil check took ${r.total_ms} ms`);
      }
      assert.ok(fine.length >= 20, `${fine.length} fine checks`);
      const lags = fine.map((r) => Date.parse(r.started_at) - Date.parse(r.scheduled_at)).sort((
        a,
        b,
      ) => a - b);
      assert.ok(lags.at(-1)! < 100, `a healthy target started ${lags.at(-1)} ms late`);
      assert.ok(fine.every((r) => r.ok));
    } finally {
      await child.stop();
      await Deno.remove(file);
      await server.shutdown();
    }
  },
});

Deno.test("availability-monitor exits 2 naming the address when --http-port is taken", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const file = await Deno.makeTempFile({ suffix: ".tsv" });
  await Deno.writeTextFile(file, "http://127.0.0.1:9/\n");
  try {
    const { port } = taken.addr as Deno.NetAddr;
    const { code, stderr } = await monitor("--stdout", "--http-port", String(port), file);
    assert.equal(code, 2, stderr);
    assert.match(
      stderr,
      new RegExp(`error: Cannot listen on 127\\.0\\.0\\.1:${port} for --http-port`),
    );
  } finally {
    taken.close();
  }
});

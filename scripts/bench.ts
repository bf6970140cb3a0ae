/**
 * `deno task bench`: measures the pipeline on this machine and writes docs/benchmarks.md.
 *
 * 1. Monitor capacity: 10,000 targets on a loopback server in its own process, at rising rates;
 *    per rate the achieved checks/s, schedule lag p50/p99, the monitor's CPU and peak RSS.
 * 2. Writer throughput: a topic pre-filled with schema-v1 messages, the writer started on it, the
 *    time until the last row is committed; beside it `psql \copy` of the same rows into an empty
 *    `checks` table of the same schema.
 * 3. End-to-end latency at a steady 1,000 checks/s: row insert time minus check start.
 * 4. Read API and status page over 1,000 targets x 30 days of one-minute checks (scripts/bench_api.ts).
 *
 * Needs the dev services (it runs `scripts/services.sh up`). Options: --only monitor|writer|latency|api,
 * --messages N (default 1000000), --latency-seconds S (default 180), --intervals LIST (monitor
 * check intervals in seconds for 10,000 targets, default 10,5,4,3,2,1.5,1). Only a full run rewrites
 * docs/benchmarks.md.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { createPool } from "../src/db/create_pool.ts";
import { migrate } from "../src/db/migrate.ts";
import { ensurePartitions, utcDay } from "../src/db/partitions.ts";
import { taskFlags } from "./compile.ts";
import { type ApiResult, benchApi, reportApi } from "./bench_api.ts";
import { percentile } from "./percentile.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BROKERS = ["127.0.0.1:9092"];
const ADMIN_URI = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

// ---------- process and machine facts ----------

interface ProcSample {
  cpuSeconds: number;
  peakRssMb: number;
}

// Deno reads /proc only with --allow-all; `cat` needs no more than --allow-run.
const readProc = (path: string) => command("cat", [path]);

async function procSample(pid: number): Promise<ProcSample> {
  const stat = await readProc(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const status = await readProc(`/proc/${pid}/status`);
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, peakRssMb: hwm / 1024 };
}

async function command(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" })
    .output();
  return new TextDecoder().decode(stdout).trim();
}

async function machine(): Promise<Record<string, string>> {
  const cpu = /model name\s*:\s*(.*)/.exec(await readProc("/proc/cpuinfo"))?.[1] ?? "?";
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(await readProc("/proc/meminfo"))?.[1] ?? 0);
  return {
    "CPU": `${cpu}, ${navigator.hardwareConcurrency} cores`,
    "Memory": `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    "OS": await command("uname", ["-sr"]),
    "Deno": Deno.version.deno,
    "Kafka": "3.9.2 (one KRaft node, same machine)",
    "PostgreSQL":
      (await command("psql", ["-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"]))
        .split(" ")[0]!,
    "Date": new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts one of the programs as its deno.json task runs it, logging warnings to this terminal. */
function spawnProgram(
  task: "monitor" | "writer",
  args: string[],
  stdout: "null" | "piped" = "null",
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...taskFlags(task), `src/${task}.ts`, "--log-level", "warn", ...args],
    cwd: ROOT,
    stdout,
    stderr: "inherit",
  }).spawn();
}

async function startTargetServer(): Promise<{ port: number; process: Deno.ChildProcess }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "scripts/bench/target_server.ts", "0"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the target server did not start");
    text += value;
  }
  reader.releaseLock();
  process.stdout.cancel().catch(() => {});
  return { port: Number(/listening (\d+)/.exec(text)![1]), process };
}

function writeTargets(port: number, count: number, interval: string, timeout: string): string {
  const file = Deno.makeTempFileSync({ prefix: "bench_targets_", suffix: ".tsv" });
  const rows = Array.from(
    { length: count },
    (_, i) => `http://127.0.0.1:${port}/t/${i}\t${interval}\t${timeout}`,
  );
  Deno.writeTextFileSync(file, ["url\tinterval\ttimeout", ...rows].join("\n"));
  return file;
}

// ---------- 1. monitor capacity ----------

interface MonitorStep {
  targets: number;
  intervalS: number;
  planned: number;
  achieved: number;
  lagP50: number;
  lagP99: number;
  failed: number;
  cpuPercent: number;
  peakRssMb: number;
  sustained: boolean;
}

async function monitorStep(port: number, targets: number, intervalS: number): Promise<MonitorStep> {
  const file = writeTargets(port, targets, `${intervalS}s`, `${Math.min(intervalS, 5)}s`);
  const warmupMs = intervalS * 1000 + 2_000;
  const windowMs = Math.max(15_000, 2 * intervalS * 1000);
  const child = spawnProgram("monitor", ["--stdout", "--max-in-flight", "1000", file], "piped");
  const started = Date.now();
  const windowStart = started + warmupMs;
  const windowEnd = windowStart + windowMs;
  const lags: number[] = [];
  let failed = 0;
  let before: ProcSample | undefined;
  let after: ProcSample | undefined;
  const sampler = (async () => {
    await sleep(windowStart - Date.now());
    before = await procSample(child.pid);
    await sleep(windowEnd - Date.now());
    after = await procSample(child.pid);
    child.kill("SIGTERM");
  })();
  let buffer = "";
  for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) {
      const started = line.indexOf('"started_at":"');
      const scheduled = line.indexOf('"scheduled_at":"');
      if (started < 0 || scheduled < 0) continue;
      const startedAt = Date.parse(line.slice(started + 14, started + 38));
      if (startedAt < windowStart || startedAt >= windowEnd) continue;
      lags.push(startedAt - Date.parse(line.slice(scheduled + 16, scheduled + 40)));
      if (line.includes('"ok":false')) failed++;
    }
  }
  await sampler;
  await child.status;
  await Deno.remove(file);
  lags.sort((a, b) => a - b);
  const planned = targets / intervalS;
  const achieved = lags.length / (windowMs / 1000);
  const lagP99 = percentile(lags, 0.99);
  return {
    targets,
    intervalS,
    planned,
    achieved,
    lagP50: percentile(lags, 0.5),
    lagP99,
    failed,
    cpuPercent: before && after
      ? (100 * (after.cpuSeconds - before.cpuSeconds)) / (windowMs / 1000)
      : NaN,
    peakRssMb: after?.peakRssMb ?? NaN,
    sustained: achieved >= 0.98 * planned && lagP99 < 100 && failed <= 0.01 * lags.length,
  };
}

async function benchMonitor(intervals: number[]): Promise<MonitorStep[]> {
  const server = await startTargetServer();
  const steps: MonitorStep[] = [];
  try {
    for (const intervalS of intervals) {
      console.log(`monitor: 10000 targets every ${intervalS}s (${10000 / intervalS}/s)...`);
      const step = await monitorStep(server.port, 10_000, intervalS);
      console.log(
        `  achieved ${
          step.achieved.toFixed(0)
        }/s, lag p50 ${step.lagP50} ms p99 ${step.lagP99} ms, failed ${step.failed}, cpu ${
          step.cpuPercent.toFixed(0)
        }%, rss ${step.peakRssMb.toFixed(0)} MB`,
      );
      steps.push(step);
      if (!step.sustained && steps.filter((s) => !s.sustained).length >= 2) break;
    }
  } finally {
    server.process.kill("SIGTERM");
    await server.process.status;
  }
  return steps;
}

// ---------- 2. writer throughput ----------

interface WriterResult {
  messages: number;
  produceSeconds: number;
  writerSeconds: number;
  writerRowsPerSecond: number;
  writerPeakRssMb: number;
  copySeconds: number;
  copyRowsPerSecond: number;
}

function benchMessage(i: number, base: number): string {
  const started = new Date(base + i).toISOString();
  return JSON.stringify({
    v: 1,
    check_id: crypto.randomUUID(),
    target_id: `target-${String(i % 1000).padStart(4, "0")}`,
    name: `site ${i % 1000}`,
    url: `https://site-${i % 1000}.example/health`,
    method: "GET",
    location: "bench",
    monitor: "bench-host",
    scheduled_at: started,
    started_at: started,
    status: i % 50 === 0 ? 503 : 200,
    dns_ms: 1.25,
    connect_ms: 3.5,
    tls_ms: 12.75,
    ttfb_ms: 40.5,
    total_ms: 58.25,
    bytes: 5120,
    redirects: 0,
    final_url: `https://site-${i % 1000}.example/health`,
    regex_match: null,
    tls_expires_at: "2027-03-01T00:00:00.000Z",
    ok: i % 50 !== 0,
    error: i % 50 === 0
      ? { kind: "status", message: "unexpected status 503: expected 200-399" }
      : null,
  });
}

async function freshDatabase(name: string): Promise<string> {
  const admin = await createPool(ADMIN_URI, { max: 1 });
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `postgres://postgres@127.0.0.1:5432/${name}?sslmode=disable`;
}

async function benchWriter(messages: number): Promise<WriterResult> {
  const topic = `bench_writer_${Date.now()}`;
  const kafka = new Kafka({ clientId: "bench", brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  console.log(`writer: producing ${messages} messages to ${topic}...`);
  const base = Date.now() - 3_600_000;
  const produceStart = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < messages; i += 5_000) {
    const batch = Array.from({ length: Math.min(5_000, messages - i) }, (_, k) => {
      const value = benchMessage(i + k, base);
      return { key: `target-${(i + k) % 1000}`, value };
    });
    inFlight.push(producer.send({ topic, acks: -1, messages: batch }));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  const produceSeconds = (performance.now() - produceStart) / 1000;

  const uri = await freshDatabase("bench_writer");
  const pool = await createPool(uri, { max: 1 });
  console.log("writer: consuming into PostgreSQL...");
  const writerStart = performance.now();
  const child = spawnProgram("writer", [
    "--db-uri",
    uri,
    "--topic",
    topic,
    "--group-id",
    topic,
    "--brokers",
    BROKERS.join(","),
  ]);
  let peak = 0;
  let count = 0;
  while (count < messages) {
    await sleep(250);
    peak = Math.max(peak, (await procSample(child.pid)).peakRssMb);
    count = Number(
      (await pool.query("SELECT count(*) FROM checks").catch(() => ({ rows: [{ count: 0 }] })))
        .rows[0].count,
    );
  }
  const writerSeconds = (performance.now() - writerStart) / 1000;
  child.kill("SIGTERM");
  await child.status;

  console.log("writer: psql \\copy of the same rows into an empty table...");
  const csv = await Deno.makeTempFile({ suffix: ".csv" });
  const columns =
    "check_id, checked_at, scheduled_at, target_id, name, url, method, location, monitor, status, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, bytes, redirects, final_url, regex_match, tls_expires_at, ok, error_kind, error_message";
  await psql(uri, `\\copy (SELECT ${columns} FROM checks) TO '${csv}' WITH (FORMAT csv)`);
  await pool.end();
  const copyUri = await freshDatabase("bench_copy");
  const copyPool = await createPool(copyUri, { max: 1 });
  await migrate(copyPool);
  await ensurePartitions(copyPool, [utcDay(base), utcDay(base + messages), utcDay(Date.now())]);
  await copyPool.end();
  const copyStart = performance.now();
  await psql(copyUri, `\\copy checks (${columns}) FROM '${csv}' WITH (FORMAT csv)`);
  const copySeconds = (performance.now() - copyStart) / 1000;
  await Deno.remove(csv);
  return {
    messages,
    produceSeconds,
    writerSeconds,
    writerRowsPerSecond: messages / writerSeconds,
    writerPeakRssMb: peak,
    copySeconds,
    copyRowsPerSecond: messages / copySeconds,
  };
}

async function psql(uri: string, command: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("psql", {
    args: [uri, "-v", "ON_ERROR_STOP=1", "-c", command],
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (code !== 0) throw new Error(`psql failed: ${new TextDecoder().decode(stderr)}`);
}

// ---------- 3. end-to-end latency ----------

interface LatencyResult {
  seconds: number;
  rows: number;
  rate: number;
  p50: number;
  p99: number;
  max: number;
}

async function benchLatency(seconds: number): Promise<LatencyResult> {
  const server = await startTargetServer();
  const topic = `bench_latency_${Date.now()}`;
  const uri = await freshDatabase("bench_latency");
  const file = writeTargets(server.port, 1_000, "1s", "900ms");
  const kafkaArgs = ["--brokers", BROKERS.join(","), "--topic", topic];
  console.log(`latency: 1000 checks/s through Kafka into PostgreSQL for ${seconds} s...`);
  const writer = spawnProgram("writer", ["--db-uri", uri, ...kafkaArgs, "--group-id", topic]);
  const monitor = spawnProgram("monitor", [...kafkaArgs, file]);
  await sleep(seconds * 1000);
  monitor.kill("SIGTERM");
  await monitor.status;
  const pool = await createPool(uri, { max: 1 });
  // Let the writer store what is still in flight.
  let last = -1;
  for (let stable = 0; stable < 3;) {
    await sleep(1_000);
    const count = Number((await pool.query("SELECT count(*) FROM checks")).rows[0].count);
    stable = count === last ? stable + 1 : 0;
    last = count;
  }
  // The first 10 s are start-up (connections, group join); measure the steady state after them.
  const { rows: [r] } = await pool.query(`
    WITH l AS (
      SELECT extract(epoch FROM inserted_at - checked_at) * 1000 AS ms
      FROM checks
      WHERE checked_at > (SELECT min(checked_at) FROM checks) + interval '10 seconds')
    SELECT count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
           max(ms) AS max
    FROM l`);
  const { rows: [span] } = await pool.query(
    "SELECT count(*) AS n, extract(epoch FROM max(checked_at) - min(checked_at)) AS s FROM checks",
  );
  await pool.end();
  writer.kill("SIGTERM");
  await writer.status;
  server.process.kill("SIGTERM");
  await server.process.status;
  await Deno.remove(file);
  return {
    seconds,
    rows: Number(r.n),
    rate: Number(span.n) / Number(span.s),
    p50: Number(r.p50),
    p99: Number(r.p99),
    max: Number(r.max),
  };
}

// ---------- report ----------

function report(
  facts: Record<string, string>,
  monitor: MonitorStep[] | undefined,
  writer: WriterResult | undefined,
  latency: LatencyResult | undefined,
  api: ApiResult | undefined,
): string {
  const lines = [
    "# Benchmarks",
    "",
    "Measured by `deno task bench` (scripts/bench.ts); every figure below comes from its last run.",
    "",
  ];
  lines.push(
    "| machine | |",
    "|---|---|",
    ...Object.entries(facts).map(([k, v]) => `| ${k} | ${v} |`),
    "",
  );
  if (monitor) {
    const best = monitor.filter((s) => s.sustained).sort((a, b) => b.achieved - a.achieved)[0];
    lines.push(
      "## 1. Monitor capacity",
      "",
      "10,000 targets on one loopback HTTP server (its own Deno process, same machine), every check on a",
      "fresh connection as in production, results written as NDJSON to a pipe (`--stdout`) so that Kafka",
      "is not part of this figure; `--max-in-flight 1000`. Each rate runs for one interval plus 2 s of",
      "warm-up, then is measured over max(15 s, two intervals). Lag is actual start minus planned start.",
      "CPU is the monitor process only (100% = one core); RSS is its peak (VmHWM).",
      "Sustained means: at least 98% of the planned rate, p99 lag under 100 ms, at most 1% failed checks.",
      "",
      "| targets | interval | planned checks/s | achieved checks/s | lag p50 | lag p99 | failed | monitor CPU | peak RSS | sustained |",
      "|---|---|---|---|---|---|---|---|---|---|",
      ...monitor.map((s) =>
        `| ${s.targets} | ${s.intervalS} s | ${s.planned.toFixed(0)} | ${
          s.achieved.toFixed(0)
        } | ${s.lagP50} ms | ${s.lagP99} ms | ${s.failed} | ${s.cpuPercent.toFixed(0)}% | ${
          s.peakRssMb.toFixed(0)
        } MB | ${s.sustained ? "yes" : "no"} |`
      ),
      "",
      best
        ? `Highest sustained: **${
          best.achieved.toFixed(0)
        } checks/s** (p99 lag ${best.lagP99} ms, peak RSS ${
          best.peakRssMb.toFixed(0)
        } MB with 10,000 targets loaded).`
        : "No rate was sustained.",
      "",
    );
  }
  if (writer) {
    lines.push(
      "## 2. Writer throughput",
      "",
      `A topic of 6 partitions pre-filled with ${
        writer.messages.toLocaleString("en")
      } schema-v1 messages (one day, 1,000 targets).`,
      "The writer starts with a fresh consumer group and an empty database; the time runs from its start",
      "(process spawn, schema creation, group join included) until `count(*)` reaches the message count",
      "(polled every 250 ms). The reference is `psql \\copy` of the same rows, as CSV, into an empty",
      "`checks` table of the same schema (primary key and index included).",
      "",
      "| | seconds | rows/s | peak RSS |",
      "|---|---|---|---|",
      `| availability-writer | ${writer.writerSeconds.toFixed(1)} | ${
        writer.writerRowsPerSecond.toFixed(0)
      } | ${writer.writerPeakRssMb.toFixed(0)} MB |`,
      `| psql \\copy | ${writer.copySeconds.toFixed(1)} | ${
        writer.copyRowsPerSecond.toFixed(0)
      } | |`,
      "",
      `Writer / \\copy: **${
        (writer.writerRowsPerSecond / writer.copyRowsPerSecond).toFixed(2)
      }**. (Producing the messages took ${writer.produceSeconds.toFixed(1)} s.)`,
      "",
    );
  }
  if (latency) {
    lines.push(
      "## 3. End-to-end latency",
      "",
      `1,000 targets every second on the loopback server, monitor publishing to Kafka, writer storing in`,
      `PostgreSQL, for ${latency.seconds} s (achieved ${
        latency.rate.toFixed(0)
      } checks/s). Latency is the row's \`inserted_at\``,
      "(clock_timestamp() at insert, moments before the commit) minus the check's start, so it includes",
      "the check itself, batching in the monitor, Kafka and the writer's batch. The first 10 s are left out.",
      "",
      "| rows | p50 | p99 | max |",
      "|---|---|---|---|",
      `| ${latency.rows} | ${latency.p50.toFixed(0)} ms | ${latency.p99.toFixed(0)} ms | ${
        latency.max.toFixed(0)
      } ms |`,
      "",
    );
  }
  if (api) lines.push(...reportApi(api));
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      only: { type: "string" },
      messages: { type: "string" },
      "latency-seconds": { type: "string" },
      intervals: { type: "string" },
    },
  });
  const only = values.only;
  const up = await new Deno.Command("bash", { args: ["scripts/services.sh", "up"], cwd: ROOT })
    .spawn().status;
  if (!up.success) return 1;
  const facts = await machine();
  const intervals = (values.intervals ?? "10,5,4,3,2,1.5,1").split(",").map(Number);
  const monitor = !only || only === "monitor" ? await benchMonitor(intervals) : undefined;
  const writer = !only || only === "writer"
    ? await benchWriter(Number(values.messages ?? 1_000_000))
    : undefined;
  const latency = !only || only === "latency"
    ? await benchLatency(Number(values["latency-seconds"] ?? 180))
    : undefined;
  const api = !only || only === "api" ? await benchApi(ADMIN_URI) : undefined;
  const text = report(facts, monitor, writer, latency, api);
  if (!only) {
    await Deno.mkdir(`${ROOT}docs`, { recursive: true });
    await Deno.writeTextFile(`${ROOT}docs/benchmarks.md`, text);
    // Tables as the formatter lays them out, so the gate's fmt --check passes.
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "docs/benchmarks.md"], cwd: ROOT })
      .output();
    console.log(`\nwrote docs/benchmarks.md`);
  }
  console.log(`\n${text}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());

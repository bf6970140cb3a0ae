import assert from "node:assert/strict";
/**
 * Shared test helpers: where the real services are, and fresh, uniquely named resources on them.
 *
 * The services come from `deno task services up`; tests never start or mock them.
 *
 * @module
 */
import * as compileScript from "../scripts/compile.ts";
import { createPool } from "../src/db/create_pool.ts";
import type { Target } from "../src/targets/target.ts";
import { createLogger } from "../src/log/logger.ts";
import { kafkaClientConfig, resolveKafkaOptions } from "../src/kafka/kafka_options.ts";
import { createWriter, type Writer } from "../src/writer/run_writer.ts";
import type { WriterConfig } from "../src/writer/writer_config.ts";

/** The broker the tests use (the dev services' plaintext listener unless KAFKA_BROKERS says otherwise). */
export const KAFKA_BROKERS: string[] = (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(
  ",",
);

/** A database URI on the dev PostgreSQL for administrative work (creating test databases). */
export const ADMIN_DB_URI: string = Deno.env.get("TEST_ADMIN_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

/** The repository root, for spawning entrypoints and scripts. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** A name no other test run uses: prefix, time and randomness, safe for topics and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 8)}`;
}

/** Runs `fn` with the URI of a fresh, empty database, and drops the database afterwards. */
export async function withTempDatabase(fn: (uri: string) => Promise<void>): Promise<void> {
  const name = uniqueName("test");
  const admin = await createPool(ADMIN_DB_URI, { max: 1 });
  admin.on("error", () => {});
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(ADMIN_DB_URI);
    url.pathname = `/${name}`;
    try {
      await fn(url.toString());
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

/** Runs an entrypoint or script with Deno, as a user would, and collects its output. */
export async function runDeno(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** PEM files of a test CA, a server certificate it signed, and an unrelated self-signed one. */
export interface TestCertificates {
  caCert: string;
  cert: string;
  key: string;
  selfSignedCert: string;
  selfSignedKey: string;
  /** The CA certificate's notAfter, as Date. */
  certExpiresAt: Date;
}

let certificates: Promise<TestCertificates> | undefined;

/** Certificates for localhost and 127.0.0.1 made with openssl, once per test process. */
export function testCertificates(): Promise<TestCertificates> {
  certificates ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "certs_" });
    const openssl = async (...args: string[]): Promise<string> => {
      const { code, stdout, stderr } = await new Deno.Command("openssl", {
        args,
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      if (code !== 0) throw new Error(`openssl ${args[0]} failed: ${decoder.decode(stderr)}`);
      return decoder.decode(stdout);
    };
    const san = "subjectAltName=DNS:localhost,IP:127.0.0.1";
    const selfSigned = (name: string, days: string, subject: string, ...extra: string[]) =>
      openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.crt`,
        "-days",
        days,
        "-subj",
        subject,
        ...extra,
      );
    await selfSigned("ca", "30", "/CN=availability test CA");
    await openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
      "-addext",
      san,
    );
    await Deno.writeTextFile(`${dir}/ext.cnf`, `${san}\n`);
    await openssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "20",
      "-extfile",
      "ext.cnf",
    );
    await selfSigned("self", "20", "/CN=localhost", "-addext", san);
    const notAfter = (await openssl("x509", "-in", "server.crt", "-noout", "-enddate"))
      .trim().replace("notAfter=", "");
    const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
    const result = {
      caCert: await read("ca.crt"),
      cert: await read("server.crt"),
      key: await read("server.key"),
      selfSignedCert: await read("self.crt"),
      selfSignedKey: await read("self.key"),
      certExpiresAt: new Date(notAfter),
    };
    await Deno.remove(dir, { recursive: true });
    return result;
  })();
  return certificates;
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A message read back from a topic. */
export interface ReadMessage {
  key: string;
  value: string;
  partition: number;
  offset: string;
}

/**
 * Reads a topic from the beginning with a fresh consumer group until `count` messages arrived or
 * `timeoutMs` passed, then waits `settleMs` more so that extra (duplicate) messages would show.
 */
export async function readTopic(
  topic: string,
  count: number,
  { timeoutMs = 30_000, settleMs = 500 }: { timeoutMs?: number; settleMs?: number } = {},
): Promise<ReadMessage[]> {
  const { Kafka, logLevel } = await import("kafkajs");
  const kafka = new Kafka({
    clientId: "test-reader",
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: uniqueName("test-reader") });
  const messages: ReadMessage[] = [];
  let enough!: () => void;
  const arrived = new Promise<void>((resolve) => (enough = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message, partition }) => {
        messages.push({
          key: message.key?.toString() ?? "",
          value: message.value?.toString() ?? "",
          partition,
          offset: message.offset,
        });
        if (messages.length >= count) enough();
        return Promise.resolve();
      },
    });
    const timer = setTimeout(enough, timeoutMs);
    await arrived;
    clearTimeout(timer);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** A child process of an entrypoint with its output collected as it runs. */
export interface Spawned {
  process: Deno.ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Waits until stderr (or stdout) contains `text`, or throws after `timeoutMs`. */
  waitFor(text: string | RegExp, timeoutMs?: number, stream?: "stdout" | "stderr"): Promise<void>;
  /** Waits for exit and returns the code. */
  exit(): Promise<number>;
  /** Kills the process if it still runs and waits for it (for cleanup). */
  stop(): Promise<void>;
}

/** Starts `deno <args>` in the repository root, collecting its output. */
export function spawnDeno(args: string[], env: Record<string, string> = {}): Spawned {
  const process = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = { stdout: "", stderr: "" };
  const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) out[key] += text;
  };
  const pumped = Promise.all([pump(process.stdout, "stdout"), pump(process.stderr, "stderr")]);
  return {
    process,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    async waitFor(text, timeoutMs = 30_000, stream = "stderr") {
      const deadline = Date.now() + timeoutMs;
      const matches = () =>
        typeof text === "string" ? out[stream].includes(text) : text.test(out[stream]);
      while (!matches()) {
        if (Date.now() > deadline) {
          throw new Error(
            `timed out waiting for ${text} in ${stream}:\n${out.stderr}\n${out.stdout}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async exit() {
      const { code } = await process.status;
      await pumped;
      return code;
    },
    async stop() {
      try {
        process.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      await process.status;
      await pumped;
    },
  };
}

/** The base URL a spawned program logged when it started listening (`--http-port`). */
export async function listeningUrl(process: Spawned): Promise<string> {
  await process.waitFor('"message":"HTTP listening"');
  const line = process.stderr().split("\n").find((l) => l.includes('"HTTP listening"'))!;
  return JSON.parse(line).url;
}

/** A valid schema-v1 message, with fields overridden. */
export function checkMessage(
  overrides: Record<string, unknown> = {},
): Record<string, unknown> & { check_id: string; started_at: string } {
  const started = (overrides.started_at as string | undefined) ?? new Date().toISOString();
  return {
    v: 1,
    check_id: crypto.randomUUID(),
    target_id: "0123456789abcdef",
    name: "example",
    url: "https://example.com/",
    method: "GET",
    location: "test",
    monitor: "test-host",
    scheduled_at: started,
    started_at: started,
    status: 200,
    dns_ms: 1.5,
    connect_ms: 2.25,
    tls_ms: null,
    ttfb_ms: 10,
    total_ms: 12.75,
    bytes: 1256,
    redirects: 0,
    final_url: "https://example.com/",
    regex_match: true,
    tls_expires_at: "2027-01-15T23:59:59.000Z",
    ok: true,
    error: null,
    ...overrides,
  } as Record<string, unknown> & { check_id: string; started_at: string };
}

/** Produces messages to a topic (created with 3 partitions if missing). */
export async function produce(
  topic: string,
  messages: { key?: string; value: string | Uint8Array | null }[],
): Promise<void> {
  const { Kafka, logLevel, Partitioners } = await import("kafkajs");
  const { Buffer } = await import("node:buffer");
  const kafka = new Kafka({
    clientId: "test-producer",
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    }
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({
        key: m.key ?? null,
        value: m.value === null
          ? null
          : typeof m.value === "string"
          ? m.value
          : Buffer.from(m.value),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Polls `condition` every 100 ms until it holds (a throw counts as not yet), or throws after `timeoutMs`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  message: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(condition).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out: ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A valid Target for check tests, with fields overridden (timeout 2 s unless given). */
export function testTarget(url: string, overrides: Partial<Target> = {}): Target {
  return {
    id: "0123456789abcdef",
    name: "t",
    url,
    method: "GET",
    regex: null,
    intervalMs: 60_000,
    timeoutMs: 2_000,
    expect: [{ from: 200, to: 399 }],
    source: { file: "test.tsv", line: 1 },
    ...overrides,
  };
}
/** Runs a writer in this process on a database and topic; `stop()` aborts it and ends its pool. */
export async function startTestWriter(
  uri: string,
  topic: string,
  overrides: Partial<WriterConfig> = {},
): Promise<{
  writer: Writer;
  logs: string[];
  running: Promise<void>;
  stop(): Promise<void>;
}> {
  const { kafka } = resolveKafkaOptions({ brokers: KAFKA_BROKERS.join(",") }, {}, "writer-test");
  const config: WriterConfig = {
    dbUri: uri,
    kafka,
    topic,
    groupId: uniqueName("writer-test"),
    topicPartitions: 3,
    partitionsAhead: 2,
    retentionDays: null,
    http: null,
    apiToken: null,
    apiTokenFile: null,
    statusTitle: "Status",
    logLevel: "warn",
    logJson: true,
    ...overrides,
  };
  const logs: string[] = [];
  const pool = await createPool(uri, { max: 4 });
  pool.on("error", () => {});
  const writer = createWriter(config, {
    pool,
    logger: createLogger({ level: "info", json: true, write: (line) => logs.push(line) }),
    kafkaConfig: await kafkaClientConfig(kafka, Deno.readTextFile),
  });
  const controller = new AbortController();
  const running = writer.run(controller.signal);
  return {
    writer,
    logs,
    running,
    async stop() {
      controller.abort();
      await running;
      await pool.end();
    },
  };
}

/** Spawns availability-writer as `deno task writer` runs it, with JSON logs, on the test broker. */
export function spawnWriter(uri: string, args: string[]): Spawned {
  const { taskFlags } = compileScript;
  return spawnDeno([
    "run",
    ...taskFlags("writer"),
    "src/writer.ts",
    "--db-uri",
    uri,
    "--brokers",
    KAFKA_BROKERS.join(","),
    "--log-format",
    "json",
    ...args,
  ]);
}

/** Spawns availability-monitor as `deno task monitor` runs it, with JSON logs, on the test broker. */
export function spawnMonitor(args: string[]): Spawned {
  const { taskFlags } = compileScript;
  return spawnDeno([
    "run",
    ...taskFlags("monitor"),
    "src/monitor.ts",
    "--brokers",
    KAFKA_BROKERS.join(","),
    "--log-format",
    "json",
    ...args,
  ]);
}

/**
 * Produces five messages to a fresh topic, runs a writer command (`command` with `args`, then
 * --db-uri, --topic and --group-id) on a fresh database until the five rows are stored, stops it
 * with SIGTERM and asserts that it exits 0.
 */
export async function assertWriterStores(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<void> {
  await withTempDatabase(async (uri) => {
    const topic = uniqueName("writer_stores");
    await produce(
      topic,
      Array.from({ length: 5 }, () => ({ value: JSON.stringify(checkMessage()) })),
    );
    const child = new Deno.Command(command, {
      args: [...args, "--db-uri", uri, "--topic", topic, "--group-id", topic],
      env,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const pool = await createPool(uri);
    try {
      await eventually(
        async () => Number((await pool.query("SELECT count(*) FROM checks")).rows[0].count) === 5,
        "5 rows",
        60_000,
      );
      child.kill("SIGTERM");
      const { code } = await child.status;
      if (code !== 0) throw new Error(`the writer exited ${code} after SIGTERM`);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      await child.stderr.cancel().catch(() => {});
      await pool.end();
    }
  });
}

/** One sample of a parsed exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses a Prometheus text exposition with parse-prometheus-text-format and checks what that
 * parser lets pass: every sample line well formed, HELP and TYPE once per family and before its
 * samples, no series twice, histogram buckets cumulative and ending in +Inf equal to _count.
 * Returns the samples; throws naming the first problem.
 */
export async function parseExposition(text: string): Promise<Sample[]> {
  const { default: parsePrometheus } = await import("parse-prometheus-text-format");
  const families = parsePrometheus(text) as {
    name: string;
    type: string;
    help: string;
    metrics: {
      value?: string;
      labels?: Record<string, string>;
      buckets?: Record<string, string>;
      count?: string;
      sum?: string;
    }[];
  }[];
  assert.ok(text.endsWith("\n"), "exposition ends with a newline");
  const declared = new Map<string, { type: string; help: boolean }>();
  const seen = new Set<string>();
  const samples: Sample[] = [];
  const SAMPLE =
    /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;
  for (const [index, line] of text.trimEnd().split("\n").entries()) {
    const where = `line ${index + 1}: ${line}`;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      const entry = declared.get(name!) ?? { type: "", help: false };
      if (kind === "TYPE") {
        assert.equal(entry.type, "", `${where}: TYPE twice`);
        assert.match(rest!, /^(counter|gauge|histogram|summary|untyped)$/, where);
        assert.ok(![...seen].some((s) => s.startsWith(`${name}`)), `${where}: TYPE after samples`);
        entry.type = rest!;
      } else {
        assert.equal(entry.help, false, `${where}: HELP twice`);
        entry.help = true;
      }
      declared.set(name!, entry);
      continue;
    }
    const match = SAMPLE.exec(line);
    assert.ok(match, `${where}: not a valid sample line`);
    const [, name, labelText, value] = match;
    const family = [name!, name!.replace(/_(bucket|sum|count)$/, "")].find((n) => declared.has(n));
    assert.ok(family, `${where}: no TYPE for ${name}`);
    assert.ok(declared.get(family!)!.help, `${where}: no HELP for ${family}`);
    const key = `${name}{${labelText ?? ""}}`;
    assert.ok(!seen.has(key), `${where}: series twice`);
    seen.add(key);
    const labels: Record<string, string> = {};
    for (
      const [, k, v] of (labelText ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)
    ) {
      labels[k!] = v!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    samples.push({ name: name!, labels, value: value === "+Inf" ? Infinity : Number(value) });
  }
  for (const family of families) {
    assert.equal(family.type, declared.get(family.name)?.type.toUpperCase(), family.name);
  }
  // Per histogram series (labels without le): buckets cumulative, +Inf present and equal to _count.
  // (The parser drops the labels and _count of labelled histograms, so this reads the samples.)
  for (const [name, { type }] of declared) {
    if (type !== "histogram") continue;
    const series = new Map<string, [number, number][]>();
    for (const s of samples.filter((s) => s.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      assert.ok(le !== undefined, `${name}_bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), [
        le === "+Inf" ? Infinity : Number(le),
        s.value,
      ]]);
    }
    for (const [key, buckets] of series) {
      buckets.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(buckets[i]![1] >= buckets[i - 1]![1], `${name}${key}: buckets are cumulative`);
      }
      const last = buckets[buckets.length - 1]!;
      assert.equal(last[0], Infinity, `${name}${key}: a +Inf bucket`);
      const count = samples.find((s) =>
        s.name === `${name}_count` && JSON.stringify(s.labels) === key
      );
      assert.equal(last[1], count?.value, `${name}${key}: +Inf bucket equals _count`);
    }
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels`. */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value;
}

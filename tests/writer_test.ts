/**
 * Black-box tests of the availability-writer entrypoint, spawned as `deno task writer` runs it,
 * against the real broker and PostgreSQL.
 *
 * @module
 */
import assert from "node:assert/strict";
import { taskFlags } from "../scripts/compile.ts";
import { PG_DRIVER_ENV_VARS } from "../src/db/create_pool.ts";
import { KAFKAJS_ENV_VARS } from "../src/kafka/kafka_options.ts";
import { WRITER_ENV_VARS } from "../src/writer/writer_config.ts";
import { VERSION } from "../src/version.ts";
import {
  ADMIN_DB_URI,
  checkMessage,
  eventually,
  KAFKA_BROKERS,
  produce,
  runDeno,
  spawnDeno,
  uniqueName,
  withTempDatabase,
} from "./_helpers.ts";
import { createPool } from "../src/db/create_pool.ts";

const WRITER = ["run", ...taskFlags("writer"), "src/writer.ts"];
const writer = (args: string[], env?: Record<string, string>) =>
  runDeno([...WRITER, ...args], { env });

Deno.test("availability-writer --help prints its usage on stdout and exits 0", async () => {
  const { code, stdout, stderr } = await writer(["--help"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^availability-writer \d+\.\d+\.\d+/);
  for (
    const flag of [
      "--db-uri URI",
      "--group-id",
      "--retention-days",
      "--partitions-ahead",
      "--brokers",
      "--ssl-cafile",
    ]
  ) {
    assert.ok(stdout.includes(flag), `--help does not mention ${flag}`);
  }
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

Deno.test("availability-writer exits 2 naming an --api-token-file it cannot read, or a bad --http-port", async () => {
  const uri = ADMIN_DB_URI;
  const missing = await writer([
    "--db-uri",
    uri,
    "--http-port",
    "0",
    "--api-token-file",
    "/nope/token",
  ]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /error: Cannot read --api-token-file \/nope\/token: /);
  const empty = await Deno.makeTempFile();
  const blank = await writer(["--db-uri", uri, "--http-port", "0", "--api-token-file", empty]);
  assert.equal(blank.code, 2);
  assert.match(blank.stderr, /--api-token-file .* is empty/);
  const port = await writer(["--db-uri", uri, "--http-port", "99999"]);
  assert.equal(port.code, 2);
  assert.match(
    port.stderr,
    /^error: Cannot use --http-port "99999": expected a port from 0 to 65535/,
  );
});

Deno.test("availability-writer with a bad --db-uri exits 2 with a clear error that hides the password", async () => {
  const bad = await writer(["--db-uri", "mysql://app:hunter2@db/x"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /^error: Cannot use database URI mysql:\/\/app:\*\*\*@db\/x: expected the scheme postgres/,
  );
  const mode = await writer(["--db-uri", "postgres://app:hunter2@db/x?sslmode=maybe"]);
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /sslmode "maybe"/);
  for (const output of [bad.stderr, bad.stdout, mode.stderr, mode.stdout]) {
    assert.doesNotMatch(output, /hunter2/);
  }
});

Deno.test("availability-writer for a database that does not exist exits 2 saying so, password masked", async () => {
  const url = new URL(ADMIN_DB_URI);
  url.pathname = `/${uniqueName("missing")}`;
  url.password = "hunter2";
  const { code, stderr } = await writer([
    "--db-uri",
    url.toString(),
    "--brokers",
    KAFKA_BROKERS.join(","),
  ]);
  assert.equal(code, 2, stderr);
  assert.match(
    stderr,
    /error: Cannot use the database at postgres:\/\/postgres:\*\*\*@.*does not exist/,
  );
  assert.doesNotMatch(stderr, /hunter2/);
});

Deno.test("the writer task allows exactly the environment variables the writer, kafkajs and the pg driver read", () => {
  const allowEnv = taskFlags("writer").find((flag) => flag.startsWith("--allow-env="))!;
  assert.deepEqual(
    allowEnv.slice("--allow-env=".length).split(",").sort(),
    [...WRITER_ENV_VARS, ...KAFKAJS_ENV_VARS, ...PG_DRIVER_ENV_VARS].sort(),
  );
});

Deno.test({
  name:
    "availability-writer stores what it consumes, and on SIGTERM commits its offsets and exits 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTempDatabase(async (uri) => {
      const topic = uniqueName("writer_entry");
      const group = uniqueName("writer_entry_group");
      await produce(
        topic,
        Array.from({ length: 30 }, () => ({ value: JSON.stringify(checkMessage()) })),
      );
      const child = spawnDeno([
        ...WRITER,
        "--db-uri",
        uri,
        "--brokers",
        KAFKA_BROKERS.join(","),
        "--topic",
        topic,
        "--group-id",
        group,
        "--log-format",
        "json",
      ]);
      const pool = await createPool(uri);
      try {
        await eventually(
          async () =>
            Number((await pool.query("SELECT count(*) FROM checks")).rows[0].count) === 30,
          "30 rows",
        );
        child.process.kill("SIGTERM");
        assert.equal(await child.exit(), 0, child.stderr());
        assert.match(
          child.stderr(),
          /"message":"writer stopped","batches":\d+,"messages":30,"inserted":30/,
        );
        const { Kafka, logLevel } = await import("kafkajs");
        const admin = new Kafka({ brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        try {
          const ends = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
          for (const { partition, offset } of committed!.partitions) {
            const end = ends.find((e) => e.partition === partition)!.offset;
            assert.equal(
              offset === "-1" ? "0" : offset,
              end,
              `partition ${partition} not committed to its end`,
            );
          }
        } finally {
          await admin.disconnect();
        }
      } finally {
        await child.stop();
        await pool.end();
      }
    });
  },
});

Deno.test("README.md lists the writer's options exactly as --help prints them", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const { stdout } = await writer(["--help"]);
  const options = stdout.slice(stdout.indexOf("Database:"));
  assert.ok(readme.includes(options.trimEnd()), "README.md's writer options differ from --help");
});

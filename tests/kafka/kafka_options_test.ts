import assert from "node:assert/strict";
import {
  describeKafka,
  kafkaClientConfig,
  keyFileWarning,
  resolveKafkaOptions,
} from "../../src/kafka/kafka_options.ts";
import { UsageError } from "../../src/cli/usage_error.ts";

Deno.test("resolveKafkaOptions() defaults to PLAINTEXT on localhost:9092 and the topic checks", () => {
  const { kafka, topic } = resolveKafkaOptions({}, {}, "client");
  assert.deepEqual(kafka.brokers, ["localhost:9092"]);
  assert.equal(kafka.securityProtocol, "PLAINTEXT");
  assert.equal(kafka.clientId, "client");
  assert.equal(topic, "checks");
});

Deno.test("resolveKafkaOptions() lets flags win over the environment", () => {
  const { kafka, topic } = resolveKafkaOptions(
    { brokers: "a:1,b:2", topic: "flag-topic" },
    { KAFKA_BROKERS: "env:9", KAFKA_TOPIC: "env-topic" },
    "c",
  );
  assert.deepEqual(kafka.brokers, ["a:1", "b:2"]);
  assert.equal(topic, "flag-topic");
  assert.deepEqual(resolveKafkaOptions({}, { KAFKA_BROKERS: "env:9" }, "c").kafka.brokers, [
    "env:9",
  ]);
});

Deno.test("resolveKafkaOptions() takes the SASL password only from KAFKA_SASL_PASSWORD", () => {
  const { kafka } = resolveKafkaOptions(
    { "security-protocol": "sasl_ssl", "sasl-mechanism": "SCRAM-SHA-512", "sasl-username": "svc" },
    { KAFKA_SASL_PASSWORD: "hunter2" },
    "c",
  );
  assert.equal(kafka.securityProtocol, "SASL_SSL");
  assert.deepEqual(kafka.sasl, {
    mechanism: "scram-sha-512",
    username: "svc",
    password: "hunter2",
  });
  assert.equal(describeKafka(kafka), "localhost:9092 SASL_SSL as svc (scram-sha-512)");
  assert.throws(
    () => resolveKafkaOptions({ "security-protocol": "SASL_SSL", "sasl-username": "svc" }, {}, "c"),
    (error: Error) => error instanceof UsageError && /KAFKA_SASL_PASSWORD/.test(error.message),
  );
});

Deno.test("resolveKafkaOptions() picks SSL when certificate files are given, and wants cert and key together", () => {
  const { kafka } = resolveKafkaOptions({ "ssl-cafile": "ca.pem" }, {}, "c");
  assert.equal(kafka.securityProtocol, "SSL");
  assert.throws(() => resolveKafkaOptions({ "ssl-certfile": "c.pem" }, {}, "c"), /go together/);
});

Deno.test("resolveKafkaOptions() rejects bad brokers, topics, protocols and mechanisms by name", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ brokers: "no-port" }, /Cannot use broker "no-port": expected host:port/],
    [{ brokers: " , " }, /names no broker/],
    [{ topic: "bad topic!" }, /Cannot use topic "bad topic!"/],
    [{ "security-protocol": "TLS" }, /Cannot use --security-protocol "TLS"/],
    [
      { "security-protocol": "SASL_SSL", "sasl-mechanism": "gssapi" },
      /Cannot use --sasl-mechanism "gssapi"/,
    ],
  ];
  for (const [values, message] of cases) {
    assert.throws(() => resolveKafkaOptions(values, {}, "c"), message);
  }
});

Deno.test("kafkaClientConfig() reads the certificate files and names a missing one", async () => {
  const files: Record<string, string> = { "ca.pem": "CA", "c.pem": "CERT", "k.pem": "KEY" };
  const read = (path: string) =>
    path in files ? Promise.resolve(files[path]!) : Promise.reject(new Error("No such file"));
  const { kafka } = resolveKafkaOptions(
    { "ssl-cafile": "ca.pem", "ssl-certfile": "c.pem", "ssl-keyfile": "k.pem" },
    {},
    "c",
  );
  const config = await kafkaClientConfig(kafka, read);
  assert.deepEqual(config.ssl, { ca: ["CA"], cert: "CERT", key: "KEY", rejectUnauthorized: true });
  await assert.rejects(
    kafkaClientConfig({ ...kafka, sslKeyFile: "missing.pem" }, read),
    /Cannot read --ssl-keyfile missing\.pem/,
  );
});

Deno.test("keyFileWarning() warns about a key file other users can read, and not about a private one", async () => {
  const modes: Record<string, number> = {
    "/k/open.pem": 0o100644,
    "/k/group.pem": 0o100640,
    "/k/private.pem": 0o100600,
  };
  const stat = (path: string) => Promise.resolve(modes[path] ?? null);
  assert.equal(
    await keyFileWarning("/k/open.pem", stat),
    "private key file /k/open.pem is readable by other users (mode 644): restrict it with chmod 600",
  );
  assert.match((await keyFileWarning("/k/group.pem", stat))!, /mode 640/);
  assert.equal(await keyFileWarning("/k/private.pem", stat), null);
  assert.equal(await keyFileWarning(undefined, stat), null);
});

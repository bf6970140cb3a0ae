/**
 * Both programs against the broker's SSL listener (client certificates required) and its
 * SASL_SSL listener (SCRAM-SHA-512), from `deno task services up`; and the failures an operator
 * meets: a wrong client certificate, a wrong password, an untrusted CA.
 *
 * @module
 */
import assert from "node:assert/strict";
import { taskFlags } from "../scripts/compile.ts";
import {
  assertWriterStores,
  closedPort,
  readTopic,
  ROOT,
  runDeno,
  testCertificates,
  uniqueName,
} from "./_helpers.ts";

const TLS = `${ROOT}.services/kafka/tls`;
const SSL = [
  "--brokers",
  "127.0.0.1:9094",
  "--ssl-cafile",
  `${TLS}/ca.crt`,
  "--ssl-certfile",
  `${TLS}/client.crt`,
  "--ssl-keyfile",
  `${TLS}/client.key`,
];
const SASL = [
  "--brokers",
  "127.0.0.1:9095",
  "--security-protocol",
  "SASL_SSL",
  "--sasl-mechanism",
  "scram-sha-512",
  "--sasl-username",
  "availability",
  "--ssl-cafile",
  `${TLS}/ca.crt`,
];
const PASSWORD = { KAFKA_SASL_PASSWORD: "availability-dev-password" };
const SLOW = { sanitizeOps: false, sanitizeResources: false };

const missing = await Deno.stat(`${TLS}/client.key`).then(() => false, () => true);
if (missing) {
  console.log(
    `kafka_security_test: skipped: no dev certificates in ${TLS} (run deno task services up)`,
  );
}

async function monitorOnce(args: string[], env: Record<string, string> = {}) {
  const file = await Deno.makeTempFile({ suffix: ".tsv" });
  await Deno.writeTextFile(file, `url\tname\nhttp://127.0.0.1:${closedPort()}/\tsecure\n`);
  try {
    return await runDeno([
      "run",
      ...taskFlags("monitor"),
      "src/monitor.ts",
      "--once",
      "--log-format",
      "json",
      ...args,
      file,
    ], { env });
  } finally {
    await Deno.remove(file);
  }
}

Deno.test({
  name:
    "the monitor publishes over SSL with a client certificate, and over SASL_SSL with SCRAM-SHA-512",
  ignore: missing,
  ...SLOW,
  async fn() {
    for (const [name, args, env] of [["ssl", SSL, {}], ["sasl", SASL, PASSWORD]] as const) {
      const topic = uniqueName(`secure_${name}`);
      const { code, stderr } = await monitorOnce([...args, "--topic", topic], env);
      assert.equal(code, 0, stderr);
      const [message] = await readTopic(topic, 1);
      assert.equal(JSON.parse(message!.value).name, "secure");
    }
  },
});

Deno.test({
  name:
    "the writer consumes over SSL with a client certificate, and over SASL_SSL with SCRAM-SHA-512",
  ignore: missing,
  ...SLOW,
  async fn() {
    const writer = ["run", ...taskFlags("writer"), "src/writer.ts"];
    await assertWriterStores(Deno.execPath(), [...writer, ...SSL]);
    await assertWriterStores(Deno.execPath(), [...writer, ...SASL], PASSWORD);
  },
});

Deno.test({
  name:
    "a wrong client certificate, a wrong password and an untrusted CA each fail with a clear error",
  ignore: missing,
  ...SLOW,
  async fn() {
    const certs = await testCertificates();
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/stranger.crt`, certs.selfSignedCert);
    await Deno.writeTextFile(`${dir}/stranger.key`, certs.selfSignedKey);
    await Deno.chmod(`${dir}/stranger.key`, 0o600);
    await Deno.writeTextFile(`${dir}/other-ca.crt`, certs.caCert);
    try {
      const wrongCert = await monitorOnce([
        "--brokers",
        "127.0.0.1:9094",
        "--ssl-cafile",
        `${TLS}/ca.crt`,
        "--ssl-certfile",
        `${dir}/stranger.crt`,
        "--ssl-keyfile",
        `${dir}/stranger.key`,
        "--topic",
        uniqueName("x"),
      ]);
      assert.equal(wrongCert.code, 1, wrongCert.stderr);
      // The broker's alert is logged as it happens; the final line carries kafkajs's last retry.
      assert.match(wrongCert.stderr, /error: Cannot use Kafka at 127\.0\.0\.1:9094 SSL: /);
      assert.match(wrongCert.stderr, /received fatal alert: CertificateUnknown/);

      const untrusted = await monitorOnce([
        "--brokers",
        "127.0.0.1:9094",
        "--ssl-cafile",
        `${dir}/other-ca.crt`,
        "--ssl-certfile",
        `${TLS}/client.crt`,
        "--ssl-keyfile",
        `${TLS}/client.key`,
        "--topic",
        uniqueName("x"),
      ]);
      assert.equal(untrusted.code, 1, untrusted.stderr);
      assert.match(
        untrusted.stderr,
        /error: Cannot use Kafka at 127\.0\.0\.1:9094 SSL: .*(verify|certificate)/i,
      );

      const wrongPassword = await monitorOnce([...SASL, "--topic", uniqueName("x")], {
        KAFKA_SASL_PASSWORD: "not-the-password",
      });
      assert.equal(wrongPassword.code, 1, wrongPassword.stderr);
      assert.match(
        wrongPassword.stderr,
        /error: Cannot use Kafka at .* as availability \(scram-sha-512\): .*authentication failed/i,
      );
      assert.doesNotMatch(wrongPassword.stderr, /not-the-password/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

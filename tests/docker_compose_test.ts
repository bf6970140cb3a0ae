/**
 * docker-compose.yml is valid and runs the whole pipeline. There is no Docker engine here, so
 * the file is checked with `docker-compose config` (which works offline); without that
 * validator the test is skipped with the reason printed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ROOT } from "./_helpers.ts";

async function compose(args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command("docker-compose", {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decoder = new TextDecoder();
  return { code, out: decoder.decode(stdout) + decoder.decode(stderr) };
}

const validator = await compose(["version", "--short"]).then(() => true, () => false);
if (!validator) {
  console.log(
    "docker_compose_test: skipped: no docker-compose to validate with (apt-get install docker-compose)",
  );
}

Deno.test({
  name: "docker-compose.yml is valid and defines kafka, postgres, writer and monitor",
  ignore: !validator,
  async fn() {
    const valid = await compose(["-f", "docker-compose.yml", "config", "-q"]);
    assert.equal(valid.code, 0, valid.out);
    const services = await compose(["-f", "docker-compose.yml", "config", "--services"]);
    assert.deepEqual(services.out.trim().split("\n").sort(), [
      "kafka",
      "monitor",
      "postgres",
      "writer",
    ]);
    const config = (await compose(["-f", "docker-compose.yml", "config"])).out;
    assert.match(config, /POSTGRES_URI: postgres:\/\/postgres@postgres:5432\/availability/);
    assert.match(config, /KAFKA_BROKERS: kafka:19092/);
  },
});

Deno.test({
  name: "the compose validator rejects a broken file, so a pass above means something",
  ignore: !validator,
  async fn() {
    const broken = await Deno.makeTempFile({ suffix: ".yml" });
    await Deno.writeTextFile(
      broken,
      "services:\n  writer:\n    build: .\n    depends_on: 12\n    restart: sometimes\n",
    );
    try {
      const result = await compose(["-f", broken, "config", "-q"]);
      assert.notEqual(result.code, 0, result.out);
    } finally {
      await Deno.remove(broken);
    }
  },
});

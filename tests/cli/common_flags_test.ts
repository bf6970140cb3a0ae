import assert from "node:assert/strict";
import { resolveHttpOptions } from "../../src/cli/common_flags.ts";
import { UsageError } from "../../src/cli/usage_error.ts";

Deno.test("resolveHttpOptions() serves nothing without a port and 127.0.0.1 by default", () => {
  assert.equal(resolveHttpOptions({}, {}), null);
  assert.deepEqual(resolveHttpOptions({ "http-port": "9100" }, {}), {
    hostname: "127.0.0.1",
    port: 9100,
  });
  assert.deepEqual(resolveHttpOptions({}, { HTTP_PORT: "0", HTTP_HOST: "0.0.0.0" }), {
    hostname: "0.0.0.0",
    port: 0,
  });
  // Flags win over the environment.
  assert.deepEqual(
    resolveHttpOptions({ "http-port": "1", "http-host": "::1" }, { HTTP_PORT: "2" }),
    {
      hostname: "::1",
      port: 1,
    },
  );
});

Deno.test("resolveHttpOptions() names the flag that is wrong", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ "http-port": "http" }, /--http-port "http": expected a whole number/],
    [{ "http-port": "70000" }, /--http-port "70000": expected a port from 0 to 65535/],
    [{ "http-port": "-1" }, /--http-port "-1"/],
    [{ "http-host": "0.0.0.0" }, /--http-host needs --http-port/],
    [{ "http-port": "80", "http-host": "a b" }, /--http-host "a b"/],
  ];
  for (const [values, message] of cases) {
    assert.throws(() => resolveHttpOptions(values, {}), (error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, message);
      return true;
    });
  }
});

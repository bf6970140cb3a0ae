import assert from "node:assert/strict";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { type CheckOptions, checkTarget } from "../../src/check/check_target.ts";
import { closedPort, testCertificates, testTarget } from "../_helpers.ts";

const OPTIONS: CheckOptions = {
  location: "test-lab",
  monitor: "test-monitor",
  maxBodyBytes: 1024 * 1024,
  maxRedirects: 5,
};

const target = testTarget;

async function withServer(
  handler: Deno.ServeHandler,
  fn: (base: string) => Promise<void>,
  tls?: { cert: string; key: string },
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {}, ...tls }, handler);
  try {
    await fn(`${tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("checkTarget() records an ok check with every timing phase of a fresh connection", async () => {
  await withServer(() => new Response("all good here"), async (base) => {
    const scheduledAt = Date.now() - 5;
    const result = await checkTarget(
      target(`${base}/health`, { regex: "good" }),
      scheduledAt,
      OPTIONS,
    );
    assert.equal(result.v, 1);
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.equal(result.error, null);
    assert.equal(result.status, 200);
    assert.equal(result.regex_match, true);
    assert.equal(result.bytes, "all good here".length);
    assert.equal(result.dns_ms, null, "an IP literal needs no DNS lookup");
    assert.ok(result.connect_ms !== null && result.connect_ms >= 0);
    assert.equal(result.tls_ms, null);
    assert.ok(result.ttfb_ms !== null && result.ttfb_ms >= 0);
    assert.ok(result.total_ms >= result.ttfb_ms!);
    assert.equal(result.scheduled_at, new Date(scheduledAt).toISOString());
    assert.ok(Date.parse(result.started_at) >= scheduledAt);
    assert.match(
      result.check_id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.equal(result.location, "test-lab");
    assert.equal(result.monitor, "test-monitor");
  });
});

Deno.test("checkTarget() measures DNS when the URL names a host", async () => {
  await withServer(() => new Response("ok"), async (base) => {
    const result = await checkTarget(
      target(base.replace("127.0.0.1", "localhost")),
      Date.now(),
      OPTIONS,
    );
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.ok(result.dns_ms !== null && result.dns_ms >= 0);
  });
});

Deno.test("checkTarget() reports a 500 as a status error", async () => {
  await withServer(() => new Response("boom", { status: 500 }), async (base) => {
    const result = await checkTarget(target(base), Date.now(), OPTIONS);
    assert.equal(result.ok, false);
    assert.equal(result.status, 500);
    assert.deepEqual(result.error, {
      kind: "status",
      message: "unexpected status 500: expected 200-399",
    });
  });
});

Deno.test("checkTarget() ends a slow check at its timeout with the phase it was in", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await withServer(async () => {
    await released;
    return new Response("too late");
  }, async (base) => {
    const started = performance.now();
    const result = await checkTarget(target(base, { timeoutMs: 300 }), Date.now(), OPTIONS);
    const elapsed = performance.now() - started;
    release();
    assert.equal(result.ok, false);
    assert.equal(result.error?.kind, "timeout");
    assert.match(result.error!.message, /within 300 ms \(timed out waiting for the response\)/);
    assert.equal(result.status, null);
    assert.ok(elapsed < 1_500, `took ${elapsed} ms for a 300 ms timeout`);
  });
});

Deno.test("checkTarget() follows a redirect chain and records the count and final URL", async () => {
  await withServer((request) => {
    const { pathname } = new URL(request.url);
    const hop = /^\/hop\/(\d+)$/.exec(pathname);
    if (hop && Number(hop[1]) > 0) {
      return new Response(null, {
        status: 302,
        headers: { location: `/hop/${Number(hop[1]) - 1}` },
      });
    }
    return new Response("arrived");
  }, async (base) => {
    const result = await checkTarget(
      target(`${base}/hop/3`, { regex: "arrived" }),
      Date.now(),
      OPTIONS,
    );
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.equal(result.redirects, 3);
    assert.equal(result.final_url, `${base}/hop/0`);

    const tooMany = await checkTarget(target(`${base}/hop/9`), Date.now(), OPTIONS);
    assert.equal(tooMany.ok, false);
    assert.equal(tooMany.error?.kind, "http");
    assert.match(tooMany.error!.message, /more than 5 redirects/);

    const expectsRedirect = await checkTarget(
      target(`${base}/hop/2`, { expect: [{ from: 301, to: 302 }] }),
      Date.now(),
      OPTIONS,
    );
    assert.equal(expectsRedirect.ok, true, "a target expecting 301-302 checks the redirect itself");
    assert.equal(expectsRedirect.status, 302);
    assert.equal(expectsRedirect.redirects, 0);
  });
});

Deno.test("checkTarget() decodes a gzip body before the regex runs", async () => {
  const page = "<html><title>Widgets</title><body>status: operational</body></html>";
  const wire = new Uint8Array(gzipSync(new TextEncoder().encode(page)));
  await withServer(
    () =>
      new Response(wire, {
        headers: { "content-encoding": "gzip", "content-type": "text/html; charset=utf-8" },
      }),
    async (base) => {
      const result = await checkTarget(
        target(base, { regex: "status: operational" }),
        Date.now(),
        OPTIONS,
      );
      assert.equal(result.ok, true, JSON.stringify(result.error));
      assert.equal(result.regex_match, true);
      assert.equal(result.bytes, wire.length, "bytes counts the compressed wire size");

      const miss = await checkTarget(target(base, { regex: "status: down" }), Date.now(), OPTIONS);
      assert.equal(miss.ok, false);
      assert.equal(miss.regex_match, false);
      assert.deepEqual(miss.error, {
        kind: "regex",
        message: "body does not match /status: down/",
      });
    },
  );
});

Deno.test("checkTarget() decodes the body with the charset the server declares", async () => {
  // "café" in ISO-8859-1: é is the single byte 0xE9.
  const body = new Uint8Array([0x63, 0x61, 0x66, 0xe9]);
  await withServer(
    () => new Response(body, { headers: { "content-type": "text/plain; charset=iso-8859-1" } }),
    async (base) => {
      const result = await checkTarget(target(base, { regex: "^café$" }), Date.now(), OPTIONS);
      assert.equal(result.ok, true, JSON.stringify(result.error));
    },
  );
});

Deno.test("checkTarget() reports a body over the limit as a body error", async () => {
  await withServer(() => new Response("x".repeat(5000)), async (base) => {
    const options = { ...OPTIONS, maxBodyBytes: 1000 };
    const result = await checkTarget(target(base, { regex: "x" }), Date.now(), options);
    assert.equal(result.ok, false);
    assert.deepEqual(result.error, { kind: "body", message: "body larger than 1000 bytes" });
    const noRegex = await checkTarget(target(base), Date.now(), options);
    assert.equal(noRegex.ok, true, "without a regex the body is only counted, up to the limit");
    assert.equal(noRegex.bytes, 1000);
  });
});

Deno.test("checkTarget() reports a closed port as a refused connection", async () => {
  const result = await checkTarget(
    target(`http://127.0.0.1:${closedPort()}/`),
    Date.now(),
    OPTIONS,
  );
  assert.equal(result.ok, false);
  assert.equal(result.error?.kind, "connect");
  assert.match(result.error!.message, /connection refused \(ECONNREFUSED\)/);
  assert.equal(result.status, null);
});

Deno.test("checkTarget() reports an unresolvable host name as a DNS error", async () => {
  const result = await checkTarget(target("http://no-such-host.invalid/"), Date.now(), OPTIONS);
  assert.equal(result.ok, false);
  assert.equal(result.error?.kind, "dns");
  assert.match(result.error!.message, /cannot resolve host name \(ENOTFOUND|EAI_AGAIN\)/);
});

Deno.test("checkTarget() reports a connection reset and a malformed response", async () => {
  const server = net.createServer((socket) => {
    socket.once("data", () => {
      if (socket.localPort === undefined) return;
      if (mode === "reset") socket.resetAndDestroy();
      else socket.end("HTTP/1.1 abc nonsense\r\n\r\n");
    });
  });
  let mode = "reset";
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const reset = await checkTarget(target(`http://127.0.0.1:${port}/`), Date.now(), OPTIONS);
    assert.equal(reset.ok, false);
    assert.equal(reset.error?.kind, "connect");
    assert.match(reset.error!.message, /connection reset by peer \(ECONNRESET\)/);

    mode = "garbage";
    const garbage = await checkTarget(target(`http://127.0.0.1:${port}/`), Date.now(), OPTIONS);
    assert.equal(garbage.ok, false);
    assert.equal(garbage.error?.kind, "http", JSON.stringify(garbage.error));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("checkTarget() reports a self-signed certificate as a TLS error", async () => {
  const certs = await testCertificates();
  await withServer(() => new Response("secret"), async (base) => {
    const result = await checkTarget(
      target(base.replace("127.0.0.1", "localhost")),
      Date.now(),
      OPTIONS,
    );
    assert.equal(result.ok, false);
    assert.equal(result.error?.kind, "tls");
    assert.match(result.error!.message, /self.signed/i);
  }, { cert: certs.selfSignedCert, key: certs.selfSignedKey });
});

Deno.test("checkTarget() trusts an extra CA and records the certificate's expiry", async () => {
  const certs = await testCertificates();
  await withServer(() => new Response("secure hello"), async (base) => {
    const url = base.replace("127.0.0.1", "localhost");
    const result = await checkTarget(target(url, { regex: "hello" }), Date.now(), {
      ...OPTIONS,
      ca: certs.caCert,
    });
    assert.equal(result.ok, true, JSON.stringify(result.error));
    assert.ok(result.tls_ms !== null && result.tls_ms >= 0);
    assert.equal(result.tls_expires_at, certs.certExpiresAt.toISOString());

    const untrusted = await checkTarget(target(url), Date.now(), OPTIONS);
    assert.equal(untrusted.error?.kind, "tls", "without the CA the same server is not trusted");
  }, { cert: certs.cert, key: certs.key });
});

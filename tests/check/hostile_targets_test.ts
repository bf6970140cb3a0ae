/**
 * Hostile targets: each check ends within its timeout with the right error kind, memory stays
 * bounded, and nothing stalls the event loop (so other targets' schedules cannot slip).
 *
 * @module
 */
import assert from "node:assert/strict";
import net from "node:net";
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import { type CheckOptions, checkTarget } from "../../src/check/check_target.ts";
import { RegexRunner } from "../../src/check/regex_runner.ts";
import type { CheckResult } from "../../src/check/check_result.ts";
import type { Target } from "../../src/targets/target.ts";
import { testTarget } from "../_helpers.ts";

const LIMIT = 1024 * 1024;

function target(url: string, overrides: Partial<Target> = {}): Target {
  return testTarget(url, { name: "hostile", timeoutMs: 1_500, ...overrides });
}

/** A raw TCP server: `respond` gets each connection once the request head has arrived. */
async function withRawServer(
  respond: (socket: net.Socket, request: string) => void,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    let head = "";
    socket.on("data", (chunk) => {
      if (head.includes("\r\n\r\n")) return;
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) respond(socket, head);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Runs a check while measuring the longest stall of the event loop. */
async function timedCheck(
  t: Target,
  options: CheckOptions,
): Promise<{ result: CheckResult; ms: number; stallMs: number }> {
  let stallMs = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last - 10);
    last = now;
  }, 10);
  const started = performance.now();
  try {
    const result = await checkTarget(t, Date.now(), options);
    return { result, ms: performance.now() - started, stallMs };
  } finally {
    clearInterval(probe);
  }
}

const runner = new RegexRunner(2);
const OPTIONS: CheckOptions = {
  location: "t",
  monitor: "t",
  maxBodyBytes: LIMIT,
  maxRedirects: 5,
  regexRunner: runner,
};

Deno.test("an endless body stops at the body limit: an error with a regex, counted without", async () => {
  await withRawServer((socket) => {
    socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
    const chunk = Buffer.alloc(64 * 1024, "x");
    const pump = () => {
      while (!socket.destroyed && socket.write(chunk));
      if (!socket.destroyed) socket.once("drain", pump);
    };
    pump();
  }, async (base) => {
    const withRegex = await timedCheck(target(base, { regex: "needle" }), OPTIONS);
    assert.equal(withRegex.result.error?.kind, "body");
    assert.match(withRegex.result.error!.message, /larger than 1048576 bytes/);
    assert.ok(withRegex.ms < 1_500);
    const counted = await timedCheck(target(base), OPTIONS);
    assert.equal(counted.result.ok, true);
    assert.equal(counted.result.bytes, LIMIT);
  });
});

Deno.test("a body trickled one byte per second ends at the timeout", async () => {
  await withRawServer((socket) => {
    socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n");
    const timer = setInterval(
      () => (socket.destroyed ? clearInterval(timer) : socket.write("a")),
      1_000,
    );
    socket.on("close", () => clearInterval(timer));
  }, async (base) => {
    const { result, ms } = await timedCheck(target(base, { timeoutMs: 1_200 }), OPTIONS);
    assert.equal(result.error?.kind, "timeout");
    assert.match(result.error!.message, /reading the body/);
    assert.ok(ms >= 1_150 && ms < 1_700, `took ${ms} ms`);
  });
});

Deno.test("a redirect loop ends after the redirect limit as an http error", async () => {
  await withRawServer((socket, request) => {
    const next = request.startsWith("GET /a ") ? "/b" : "/a";
    socket.end(`HTTP/1.1 302 Found\r\nlocation: ${next}\r\ncontent-length: 0\r\n\r\n`);
  }, async (base) => {
    const { result } = await timedCheck(target(`${base}/a`), OPTIONS);
    assert.equal(result.error?.kind, "http");
    assert.match(result.error!.message, /more than 5 redirects/);
    assert.equal(result.redirects, 5);
  });
});

Deno.test("a huge header block and a malformed status line are http errors", async () => {
  await withRawServer((socket) => {
    socket.write("HTTP/1.1 200 OK\r\n");
    const line = `x-padding: ${"p".repeat(8_000)}\r\n`;
    for (let i = 0; i < 200 && !socket.destroyed; i++) socket.write(line);
    socket.end("\r\nbody");
  }, async (base) => {
    const { result, ms } = await timedCheck(target(base), OPTIONS);
    assert.equal(result.ok, false);
    assert.equal(result.error?.kind, "http", JSON.stringify(result.error));
    assert.ok(ms < 1_500);
  });
  await withRawServer((socket) => socket.end("HTTP/1.1 999999 Weird\r\n\r\n"), async (base) => {
    const { result } = await timedCheck(target(base), OPTIONS);
    assert.equal(result.error?.kind, "http", JSON.stringify(result.error));
  });
});

Deno.test("a gzip bomb (about 1 MB on the wire, 1 GB decoded) stops at the limit after decoding", async () => {
  const member = gzipSync(Buffer.alloc(10 * 1024 * 1024));
  await withRawServer((socket) => {
    socket.write(
      `HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: ${member.length * 100}\r\n\r\n`,
    );
    for (let i = 0; i < 100 && !socket.destroyed; i++) socket.write(member);
  }, async (base) => {
    const before = Deno.memoryUsage().rss;
    const { result, ms } = await timedCheck(target(base, { regex: "never" }), OPTIONS);
    assert.equal(result.error?.kind, "body");
    assert.match(result.error!.message, /larger than 1048576 bytes after decoding/);
    assert.ok(ms < 1_500, `took ${ms} ms`);
    const grown = (Deno.memoryUsage().rss - before) / 1024 / 1024;
    assert.ok(grown < 100, `memory grew by ${grown.toFixed(0)} MB`);
  });
});

Deno.test("a catastrophic regex ends within the timeout as a regex error without stalling the event loop", async () => {
  const body = `${"a".repeat(50_000)}b`;
  await withRawServer(
    (socket) => socket.end(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`),
    async (base) => {
      const { result, ms, stallMs } = await timedCheck(
        target(base, { regex: "(a+)+$", timeoutMs: 1_000 }),
        OPTIONS,
      );
      assert.equal(result.error?.kind, "regex");
      assert.match(result.error!.message, /did not finish within the 1000 ms timeout/);
      assert.ok(ms < 1_300, `took ${ms} ms`);
      assert.ok(stallMs < 100, `the event loop stalled for ${stallMs.toFixed(0)} ms`);
      // The pool recovered: a sane regex still answers.
      const sane = await timedCheck(target(base, { regex: "^a+b$" }), OPTIONS);
      assert.equal(sane.result.ok, true, JSON.stringify(sane.result.error));
    },
  );
});

Deno.test("RegexRunner answers matches, and closes its workers", async () => {
  const own = new RegexRunner(1);
  try {
    assert.equal(await own.test("wor.d", "hello world", 1_000), true);
    assert.equal(await own.test("^x", "hello", 1_000), false);
    assert.equal(await own.test("(a+)+$", `${"a".repeat(40_000)}b`, 200), "timeout");
    assert.equal(await own.test("b$", "ab", 1_000), true, "a replaced worker works");
  } finally {
    own.close();
  }
});

Deno.test("the shared regex runner is closed", () => {
  runner.close();
});

/**
 * Hostile targets files: random bytes, a 100,000-row file, 1 MB lines, every field wrong. Each
 * gives clear errors or a clean load, never a stack trace, and the big file loads in seconds.
 *
 * @module
 */
import assert from "node:assert/strict";
import { taskFlags } from "../../scripts/compile.ts";
import { formatTargetsError, parseTsv } from "../../src/targets/parse_tsv.ts";
import { runDeno } from "../_helpers.ts";

const MONITOR = ["run", ...taskFlags("monitor"), "src/monitor.ts"];

async function monitorOn(content: string | Uint8Array, ...args: string[]) {
  const file = await Deno.makeTempFile({ suffix: ".tsv" });
  if (typeof content === "string") await Deno.writeTextFile(file, content);
  else await Deno.writeFile(file, content);
  try {
    const started = performance.now();
    const result = await runDeno([
      ...MONITOR,
      "--stdout",
      "--once",
      "--log-level",
      "warn",
      ...args,
      file,
    ]);
    return { ...result, file, seconds: (performance.now() - started) / 1000 };
  } finally {
    await Deno.remove(file);
  }
}

function assertNoStackTrace(output: string) {
  assert.doesNotMatch(output, /^\s+at .+:\d+:\d+\)?$/m, `a stack trace:\n${output.slice(0, 2000)}`);
  assert.doesNotMatch(output, /Uncaught|TypeError|RangeError/, output.slice(0, 2000));
}

Deno.test("a targets file of random bytes exits 2 with clear errors and no stack trace", async () => {
  for (let i = 0; i < 5; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(64 * 1024));
    const { code, stderr } = await monitorOn(bytes);
    assert.equal(code, 2, stderr.slice(0, 500));
    assert.match(stderr, /:\d+:\d+: /);
    assertNoStackTrace(stderr);
  }
});

Deno.test("a 100,000-row targets file parses in seconds and the monitor loads it", async () => {
  const rows = Array.from(
    { length: 100_000 },
    (_, i) => `http://127.0.0.1:1/t/${i}\tname-${i}\t1h\t5s\t200`,
  );
  const text = ["url\tname\tinterval\ttimeout\texpect", ...rows].join("\n");
  const started = performance.now();
  const { targets, errors } = parseTsv(text, "big.tsv");
  const parseSeconds = (performance.now() - started) / 1000;
  assert.deepEqual(errors, []);
  assert.equal(targets.length, 100_000);
  assert.ok(parseSeconds < 10, `parsing took ${parseSeconds.toFixed(1)} s`);
  console.log(`parseTsv: 100,000 rows in ${parseSeconds.toFixed(2)} s`);
  // The whole program: load all, check the few of one shard once, exit.
  const run = await monitorOn(text, "--shard", "1/20000");
  assert.equal(run.code, 0, run.stderr.slice(0, 1000));
  assert.ok(run.seconds < 30, `the monitor took ${run.seconds.toFixed(1)} s`);
  console.log(`monitor --once on 100,000 targets (one shard checked): ${run.seconds.toFixed(2)} s`);
});

Deno.test("1 MB lines load cleanly or fail clearly, and messages stay short", async () => {
  const longPath = "a".repeat(1_000_000);
  const clean = parseTsv(`http://127.0.0.1:1/${longPath}\tneedle\n`, "long.tsv");
  assert.deepEqual(clean.errors, []);
  const bad = parseTsv(
    `url\tinterval\nhttp://x.example/\t${"9".repeat(1_000_000)}x\n${"z".repeat(1_000_000)}\n`,
    "long.tsv",
  );
  const messages = bad.errors.map(formatTargetsError);
  assert.equal(messages.length, 2, messages.join("\n").slice(0, 500));
  for (const message of messages) {
    assert.ok(message.length < 300, `a ${message.length}-character message`);
  }
  const run = await monitorOn(`url\tinterval\nhttp://x.example/\t${"9".repeat(1_000_000)}x\n`);
  assert.equal(run.code, 2);
  assertNoStackTrace(run.stderr);
});

Deno.test("a file with every field of the wrong type reports each cell", () => {
  const text = "url\tname\tinterval\ttimeout\texpect\tmethod\tregex\n" +
    "12345\t\t-5s\tsoon\tok\tDELETE\t[unclosed\n" +
    "http://ok.example/\tdup\t1.5.3\t1m\t2yy\tget\t*\n" +
    "http://ok2.example/\tdup\t60\t1h\t600-700\tHEAD\t\n";
  const messages = parseTsv(text, "wrong.tsv").errors.map(formatTargetsError);
  assert.deepEqual(messages, [
    'wrong.tsv:2:1: cannot parse URL "12345": expected an absolute http:// or https:// URL',
    'wrong.tsv:2:3: cannot parse interval "-5s": expected a number with unit ms, s, m or h (like 30s or 5m)',
    'wrong.tsv:2:4: cannot parse timeout "soon": expected a number with unit ms, s, m or h (like 30s or 5m)',
    'wrong.tsv:2:5: cannot parse expect "ok": expected status codes from 100 to 599 like 200, 200-299, 2xx or 200,301',
    'wrong.tsv:2:6: unsupported method "DELETE": expected GET or HEAD',
    "wrong.tsv:2:7: bad regex: Invalid regular expression: /[unclosed/: Unterminated character class",
    'wrong.tsv:3:3: cannot parse interval "1.5.3": expected a number with unit ms, s, m or h (like 30s or 5m)',
    'wrong.tsv:3:5: cannot parse expect "2yy": expected status codes from 100 to 599 like 200, 200-299, 2xx or 200,301',
    "wrong.tsv:3:7: bad regex: Invalid regular expression: /*/: Nothing to repeat",
    'wrong.tsv:4:2: duplicate name "dup": first used on line 3',
    "wrong.tsv:4:4: timeout 1h is longer than the interval: expected at most 60",
    'wrong.tsv:4:5: cannot parse expect "600-700": expected status codes from 100 to 599 like 200, 200-299, 2xx or 200,301',
  ]);
});

import assert from "node:assert/strict";
import { formatTargetsError, parseTsv } from "../../src/targets/parse_tsv.ts";
import { parseDuration } from "../../src/targets/parse_duration.ts";
import { parseExpect, statusAccepted } from "../../src/targets/parse_expect.ts";

function errorsOf(text: string): string[] {
  const { targets, errors } = parseTsv(text, "t.tsv");
  assert.deepEqual(targets, [], "a file with errors yields no targets");
  return errors.map(formatTargetsError);
}

Deno.test("parseTsv() reads the header-less seed file of URL<TAB>REGEX lines", () => {
  const { targets, errors } = parseTsv(
    "https://example.com\tDomain\nhttps://example.com/1\n",
    "seed.tsv",
  );
  assert.deepEqual(errors, []);
  assert.equal(targets.length, 2);
  assert.deepEqual(
    targets.map(({ url, regex, name, method, intervalMs, timeoutMs }) => ({
      url,
      regex,
      name,
      method,
      intervalMs,
      timeoutMs,
    })),
    [
      {
        url: "https://example.com/",
        regex: "Domain",
        name: "https://example.com/",
        method: "GET",
        intervalMs: 60_000,
        timeoutMs: 10_000,
      },
      {
        url: "https://example.com/1",
        regex: null,
        name: "https://example.com/1",
        method: "GET",
        intervalMs: 60_000,
        timeoutMs: 10_000,
      },
    ],
  );
  assert.deepEqual(targets[1]!.expect, [{ from: 200, to: 399 }]);
  assert.deepEqual(targets.map((t) => t.source.line), [1, 2]);
});

Deno.test("parseTsv() reads the header form with every column, CRLF, a BOM, comments and blank lines", () => {
  const text = "\uFEFF# targets\r\n\r\nURL\tName\tInterval\tTimeout\tExpect\tMethod\tRegex\r\n" +
    "# a comment between rows\r\n" +
    "https://a.example/x#frag\tA\t5m\t30s\t2xx,301\thead\t\r\n" +
    "   \t  \r\n" +
    "http://b.example\tB\t90\t1500ms\t200-204\tGET\t^ok$\r\n" +
    "https://c.example\r\n";
  const { targets, errors } = parseTsv(text, "h.tsv");
  assert.deepEqual(errors, []);
  assert.equal(targets.length, 3);
  const [a, b, c] = targets;
  assert.equal(a!.url, "https://a.example/x#frag", "a # inside a cell is not a comment");
  assert.equal(a!.method, "HEAD");
  assert.equal(a!.intervalMs, 300_000);
  assert.equal(a!.timeoutMs, 30_000);
  assert.deepEqual(a!.expect, [{ from: 200, to: 299 }, { from: 301, to: 301 }]);
  assert.equal(a!.source.line, 5);
  assert.equal(b!.intervalMs, 90_000);
  assert.equal(b!.timeoutMs, 1_500);
  assert.equal(b!.regex, "^ok$");
  assert.equal(b!.source.line, 7);
  assert.equal(c!.name, "https://c.example/");
  assert.equal(c!.timeoutMs, 10_000);
});

Deno.test("parseTsv() gives targets stable ids that differ by name, URL, method and regex", () => {
  const first = parseTsv("https://x.example\tA\nhttps://x.example\n", "a.tsv").targets;
  const again =
    parseTsv("# moved down\n\nhttps://x.example\tA\nhttps://x.example\n", "b.tsv").targets;
  assert.deepEqual(first.map((t) => t.id), again.map((t) => t.id));
  assert.notEqual(first[0]!.id, first[1]!.id);
  assert.match(first[0]!.id, /^[0-9a-f]{16}$/);
  const named = parseTsv("url\tname\nhttps://old.example\tshop\n", "n.tsv").targets[0]!;
  const moved = parseTsv("url\tname\nhttps://new.example\tshop\n", "n.tsv").targets[0]!;
  assert.equal(named.id, moved.id, "a named target keeps its id when its URL changes");
});

Deno.test("parseTsv() reports every bad row at once with its line and column", () => {
  const text = [
    "url\tinterval\ttimeout\texpect\tmethod\tregex\tname", // 1
    "ftp://files.example\t60s", // 2
    "https://ok.example\t5x", // 3
    "https://ok2.example\t10s\t20s", // 4
    "https://ok3.example\t\t\t700", // 5
    "https://ok4.example\t\t\t\tPOST", // 6
    "https://ok5.example\t\t\t\t\t(unclosed", // 7
    "not a url", // 8
    "https://dup.example\t\t\t\t\t\tshop", // 9
    "https://dup2.example\t\t\t\t\t\tshop", // 10
    "https://twice.example", // 11
    "https://twice.example", // 12
    "https://wide.example\t1m\t1s\t200\tGET\tx\tname\textra", // 13
    "https://head.example\t\t\t\tHEAD\tbody", // 14
  ].join("\n");
  assert.deepEqual(errorsOf(text), [
    't.tsv:2:1: unsupported URL scheme "ftp:": expected http or https',
    't.tsv:3:2: cannot parse interval "5x": expected a number with unit ms, s, m or h (like 30s or 5m)',
    "t.tsv:4:3: timeout 20s is longer than the interval: expected at most 10s",
    't.tsv:5:4: cannot parse expect "700": expected status codes from 100 to 599 like 200, 200-299, 2xx or 200,301',
    't.tsv:6:5: unsupported method "POST": expected GET or HEAD',
    "t.tsv:7:6: bad regex: Invalid regular expression: /(unclosed/: Unterminated group",
    't.tsv:8:1: cannot parse URL "not a url": expected an absolute http:// or https:// URL',
    't.tsv:10:7: duplicate name "shop": first used on line 9',
    "t.tsv:12:1: duplicate target: line 11 already checks GET https://twice.example/ with the same regex",
    "t.tsv:13:8: too many cells: the header on line 1 names 7 columns",
    "t.tsv:14:6: a HEAD check has no body for the regex to match: use GET",
  ]);
});

Deno.test("parseTsv() reports header problems: unknown and repeated columns", () => {
  assert.deepEqual(errorsOf("url\tcolour\tname\tname\nhttps://a.example\tred\tx\ty\n"), [
    't.tsv:1:2: unknown column "colour": expected url, regex, name, interval, timeout, expect, method',
    't.tsv:1:4: column "name" appears twice in the header',
  ]);
});

Deno.test("parseTsv() reports an empty file, a header without rows, and extra cells without a header", () => {
  assert.deepEqual(errorsOf(""), ["t.tsv:1:1: no targets in the file: expected one URL per line"]);
  assert.deepEqual(errorsOf("# nothing\n\n"), [
    "t.tsv:1:1: no targets in the file: expected one URL per line",
  ]);
  assert.deepEqual(errorsOf("# c\nurl\tname\n"), [
    "t.tsv:2:1: no targets in the file: expected one URL per line",
  ]);
  assert.deepEqual(errorsOf("https://a.example\tre\tsurprise\n"), [
    "t.tsv:1:3: too many cells: a file without a header has URL<TAB>REGEX per line",
  ]);
});

Deno.test("parseTsv() never throws on random bytes, and clips long cells in messages", () => {
  const random = new TextDecoder().decode(crypto.getRandomValues(new Uint8Array(4096)));
  const { errors } = parseTsv(random, "r.tsv");
  assert.ok(errors.length > 0);
  const long = parseTsv(`${"x".repeat(1_000_000)}\n`, "l.tsv").errors.map(formatTargetsError);
  assert.equal(long.length, 1);
  assert.ok(long[0]!.length < 200, "a 1 MB cell is clipped in its message");
});

Deno.test("parseDuration() reads units and plain seconds, and rejects the rest", () => {
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("45"), 45_000);
  assert.equal(parseDuration("1.5m"), 90_000);
  for (const bad of ["", "5x", "-1s", "0s", "s", "1 h 2"]) {
    assert.throws(() => parseDuration(bad), RangeError, bad);
  }
});

Deno.test("parseExpect() reads codes, ranges, classes and lists", () => {
  assert.deepEqual(parseExpect("200"), [{ from: 200, to: 200 }]);
  assert.deepEqual(parseExpect("2xx, 301"), [{ from: 200, to: 299 }, { from: 301, to: 301 }]);
  assert.deepEqual(parseExpect("200-204"), [{ from: 200, to: 204 }]);
  assert.ok(statusAccepted(204, parseExpect("200-204")));
  assert.ok(!statusAccepted(205, parseExpect("200-204")));
  for (const bad of ["", "99", "600", "299-200", "6xx", "abc", "200,"]) {
    assert.throws(() => parseExpect(bad), RangeError, bad);
  }
});

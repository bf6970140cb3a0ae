import assert from "node:assert/strict";
import { maskUri } from "../../src/db/mask_uri.ts";

Deno.test("maskUri() hides the password in the user part and in the query", () => {
  assert.equal(
    maskUri("postgres://app:s3cr%40t@db:5432/x?sslmode=require"),
    "postgres://app:***@db:5432/x?sslmode=require",
  );
  assert.equal(maskUri("postgres://app@db/x?password=s3cret"), "postgres://app@db/x?password=***");
  assert.equal(maskUri("postgres://db/x"), "postgres://db/x");
});

Deno.test("maskUri() hides an unparsable URI entirely", () => {
  assert.equal(maskUri("::: s3cret"), "<unparsable URI>");
});

import assert from "node:assert/strict";
import { createPool, parseDbUri } from "../../src/db/create_pool.ts";
import { ROOT, testCertificates, withTempDatabase } from "../_helpers.ts";

Deno.test("createPool() reaches a plain PostgreSQL through its TCP bridge and runs a parameterized query", async () => {
  await withTempDatabase(async (uri) => {
    const pool = await createPool(uri);
    try {
      const { rows } = await pool.query(
        "SELECT $1::int + 1 AS answer, $2::text AS echoed, current_database() AS db",
        [41, "it's a 'quoted' string; DROP TABLE x"],
      );
      assert.equal(rows[0].answer, 42);
      assert.equal(rows[0].echoed, "it's a 'quoted' string; DROP TABLE x");
      assert.equal(rows[0].db, new URL(uri).pathname.slice(1));
    } finally {
      await pool.end();
    }
  });
});

Deno.test("createPool() runs a transaction that commits and one that rolls back", async () => {
  await withTempDatabase(async (uri) => {
    const pool = await createPool(uri);
    try {
      await pool.query("CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)");
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query("INSERT INTO items VALUES ($1, $2), ($3, $4)", [1, "one", 2, "two"]);
        await client.query("COMMIT");

        await client.query("BEGIN");
        await client.query("INSERT INTO items VALUES ($1, $2)", [3, "three"]);
        // A failing statement inside the transaction: everything in it must be undone.
        await assert.rejects(client.query("INSERT INTO items VALUES ($1, $2)", [1, "again"]), {
          message: /duplicate key/,
        });
        await client.query("ROLLBACK");
      } finally {
        client.release();
      }
      const { rows } = await pool.query("SELECT id, label FROM items ORDER BY id");
      assert.deepEqual(rows, [{ id: 1, label: "one" }, { id: 2, label: "two" }]);
    } finally {
      await pool.end();
    }
  });
});

Deno.test("createPool() with sslmode=require encrypts the session, or fails clearly when the server has no TLS", async () => {
  await withTempDatabase(async (uri) => {
    const url = new URL(uri);
    url.searchParams.set("sslmode", "require");
    const pool = await createPool(url.toString());
    try {
      const tlsOn = await (async () => {
        const plain = await createPool(uri);
        try {
          return (await plain.query("SHOW ssl")).rows[0].ssl === "on";
        } finally {
          await plain.end();
        }
      })();
      if (tlsOn) {
        // The server speaks TLS: the bridge must negotiate it and the session must be encrypted.
        const { rows } = await pool.query(
          "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        );
        assert.equal(rows[0].ssl, true);
      } else {
        await assert.rejects(pool.query("SELECT 1"), { message: /does not support SSL/ });
      }
    } finally {
      await pool.end();
    }
  });
});

Deno.test("createPool() reports a refused connection as an error, not a hang", async () => {
  const pool = await createPool("postgres://postgres@127.0.0.1:1/postgres?sslmode=disable");
  try {
    await assert.rejects(pool.query("SELECT 1"), { message: /ECONNREFUSED|refused/i });
  } finally {
    await pool.end();
  }
});

Deno.test("parseDbUri() strips the TLS parameters it applies itself and follows libpq's sslmode", () => {
  const plain = parseDbUri(
    "postgres://u:secret@db.example:6543/app?sslmode=disable&application_name=x",
  );
  assert.equal(plain.host, "db.example");
  assert.equal(plain.port, 6543);
  assert.equal(plain.sslMode, "disable");
  assert.equal(plain.neon, false);
  assert.equal(
    plain.connectionString,
    "postgres://u:secret@db.example:6543/app?application_name=x",
  );

  assert.equal(parseDbUri("postgresql://u@h/db").sslMode, "prefer");
  assert.equal(parseDbUri("postgresql://u@h/db?sslmode=allow").sslMode, "disable");
  const pinned = parseDbUri("postgres://u@h/db?sslmode=require&sslrootcert=/etc/ca.pem");
  assert.equal(pinned.sslMode, "verify-ca");
  assert.equal(pinned.sslRootCert, "/etc/ca.pem");
  assert.equal(parseDbUri("postgres://u@[::1]:5433/db").host, "::1");
});

Deno.test("parseDbUri() keeps Neon URIs whole for the driver's own secure WebSocket", () => {
  const uri = "postgres://u:p@ep-cool-name-123.eu-central-1.aws.neon.tech/neondb?sslmode=require";
  const neon = parseDbUri(uri);
  assert.equal(neon.neon, true);
  assert.equal(neon.connectionString, uri);
});

Deno.test("parseDbUri() rejects bad URIs without showing the password", () => {
  for (
    const [uri, pattern] of [
      ["mysql://u:hunter2@h/db", /expected the scheme postgres/],
      ["postgres://u:hunter2@h/db?sslmode=sometimes", /sslmode "sometimes"/],
      ["not a uri hunter2", /Cannot parse database URI/],
    ] as const
  ) {
    assert.throws(() => parseDbUri(uri), (error: Error) => {
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  }
});

const DEV_CA = `${ROOT}.services/postgres-tls/ca.crt`;
const devCaMissing = await Deno.stat(DEV_CA).then(() => false, () => true);
if (devCaMissing) {
  console.log(
    `create_pool_test: TLS tests skipped: no dev CA at ${DEV_CA} (the server's TLS was not set up by deno task services up)`,
  );
}

async function sessionEncrypted(uri: string): Promise<boolean> {
  const pool = await createPool(uri);
  try {
    const { rows } = await pool.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    return rows[0].ssl;
  } finally {
    await pool.end();
  }
}

Deno.test({
  name:
    "createPool() with sslmode=verify-full and the server's CA encrypts the session; disable does not",
  ignore: devCaMissing,
  async fn() {
    const base = "postgres://postgres@localhost:5432/postgres";
    assert.equal(await sessionEncrypted(`${base}?sslmode=verify-full&sslrootcert=${DEV_CA}`), true);
    assert.equal(await sessionEncrypted(`${base}?sslmode=disable`), false);
    assert.equal(await sessionEncrypted(base), true, "the default, prefer, uses TLS when offered");
  },
});

Deno.test({
  name:
    "createPool() with sslmode=verify-full refuses a certificate for another name; verify-ca accepts it",
  ignore: devCaMissing,
  async fn() {
    const base = "postgres://postgres@127.0.0.1:5432/postgres";
    const pool = await createPool(`${base}?sslmode=verify-full&sslrootcert=${DEV_CA}`);
    try {
      await assert.rejects(
        pool.query("SELECT 1"),
        /127\.0\.0\.1|altname|does not match|certificate/i,
      );
    } finally {
      await pool.end();
    }
    assert.equal(await sessionEncrypted(`${base}?sslmode=verify-ca&sslrootcert=${DEV_CA}`), true);
  },
});

Deno.test({
  name: "createPool() with sslmode=verify-full refuses a server signed by an untrusted CA",
  ignore: devCaMissing,
  async fn() {
    const other = await Deno.makeTempFile({ suffix: ".crt" });
    await Deno.writeTextFile(other, (await testCertificates()).caCert);
    const pool = await createPool(
      `postgres://postgres@localhost:5432/postgres?sslmode=verify-full&sslrootcert=${other}`,
    );
    try {
      await assert.rejects(pool.query("SELECT 1"), /certificate|issuer|verify/i);
    } finally {
      await pool.end();
      await Deno.remove(other);
    }
  },
});

Deno.test("createPool() names an sslrootcert file it cannot read", async () => {
  await assert.rejects(
    createPool(
      "postgres://postgres@localhost/postgres?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    ),
    /Cannot read sslrootcert \/nonexistent\/ca\.pem/,
  );
});

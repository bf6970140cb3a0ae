/**
 * The read API and the status page alone, without Kafka, for `deno serve`:
 *
 *   DATABASE_URL=postgres://... deno serve --allow-net --allow-read --allow-env src/status_server.ts
 *
 * Reads what an availability-writer stored in any PostgreSQL the @neondatabase/serverless driver
 * reaches: Neon over its own WebSocket, any other server through the driver's TCP bridge (TLS
 * included). Settings from the environment: DATABASE_URL (or POSTGRES_URI), API_TOKEN (optional
 * bearer token for /api/*), STATUS_TITLE. Also serves /healthz and /readyz (the database answers).
 *
 * @module
 */
import { createPool } from "./db/create_pool.ts";
import { maskUri } from "./db/mask_uri.ts";
import { createOpsApp, within } from "./http/ops_app.ts";
import { createReadStore } from "./read/read_store.ts";
import { createStatusApp } from "./read/status_app.tsx";

const uri = Deno.env.get("DATABASE_URL") ?? Deno.env.get("POSTGRES_URI");
if (!uri) {
  throw new Error("status_server.ts needs DATABASE_URL (or POSTGRES_URI): a PostgreSQL URI");
}
const pool = await createPool(uri, { max: 4 });
pool.on("error", (error: Error) => console.error(`database connection lost: ${error.message}`));

const app = createOpsApp(null, {
  postgres: () => within(pool.query("SELECT 1 FROM target_status LIMIT 1"), 2_000, "PostgreSQL"),
});
app.route(
  "/",
  createStatusApp({
    store: createReadStore(pool),
    apiToken: Deno.env.get("API_TOKEN")?.trim() || null,
    title: Deno.env.get("STATUS_TITLE") ?? "Status",
    logError: (message, fields) => console.error(message, JSON.stringify(fields)),
  }),
);
console.error(`serving the status page and read API of ${maskUri(uri)}`);

export default { fetch: app.fetch } satisfies Deno.ServeDefaultExport;

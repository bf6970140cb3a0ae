/**
 * availability-writer: consumes check results from Kafka into date-partitioned PostgreSQL tables,
 * each check stored exactly once.
 *
 * @module
 */
import { EXIT_FAILURE, EXIT_USAGE } from "./cli/format_cli_error.ts";
import { resolveCommand } from "./cli/resolve_command.ts";
import { createPool } from "./db/create_pool.ts";
import { maskUri } from "./db/mask_uri.ts";
import { kafkaClientConfig, keyFileWarning } from "./kafka/kafka_options.ts";
import { createStreamLogger } from "./log/logger.ts";
import { createWriter, DatabaseConfigError } from "./writer/run_writer.ts";
import { parseWriterArgs, WRITER_ENV_VARS, WRITER_HELP } from "./writer/writer_config.ts";
import { VERSION } from "./version.ts";
import type { Pool } from "@neondatabase/serverless";
import { createOpsApp, within } from "./http/ops_app.ts";
import { type HttpServer, serveHttp } from "./http/serve_http.ts";
import { createReadStore } from "./read/read_store.ts";
import { createStatusApp } from "./read/status_app.tsx";

/** Runs the program and returns its exit code. */
export async function main(args: string[]): Promise<number> {
  const env = Object.fromEntries(WRITER_ENV_VARS.map((name) => [name, Deno.env.get(name)]));
  const command = resolveCommand(
    { name: "availability-writer", version: VERSION, help: WRITER_HELP },
    () => parseWriterArgs(args, env),
  );
  if ("exit" in command) return command.exit;
  const config = command.config;
  const logger = createStreamLogger(config, Deno.stderr);
  const keyWarning = await keyFileWarning(
    config.kafka.sslKeyFile,
    async (path) => (await Deno.stat(path)).mode,
  );
  if (keyWarning) logger.warn(keyWarning);
  let pool;
  let kafkaConfig;
  try {
    pool = await createPool(config.dbUri, { max: 4 });
    kafkaConfig = await kafkaClientConfig(config.kafka, Deno.readTextFile);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return EXIT_USAGE;
  }
  // Idle pooled connections that fail (server restart) must not crash the process.
  pool.on(
    "error",
    (error: Error) => logger.warn("database connection lost", { error: error.message }),
  );
  logger.info("writer starting", {
    database: maskUri(config.dbUri),
    topic: config.topic,
    group: config.groupId,
  });

  const writer = createWriter(config, { pool, logger, kafkaConfig });
  const controller = new AbortController();
  const httpController = new AbortController();
  let http: HttpServer | undefined;
  let readPool: Pool | undefined;
  if (config.http) {
    let apiToken = config.apiToken;
    if (config.apiTokenFile) {
      apiToken = await Deno.readTextFile(config.apiTokenFile).then((text) => text.trim()).catch(
        (error) => {
          console.error(
            `error: Cannot read --api-token-file ${config.apiTokenFile}: ${
              (error as Error).message
            }`,
          );
          return null;
        },
      );
      if (!apiToken) {
        if (apiToken === "") {
          console.error(`error: --api-token-file ${config.apiTokenFile} is empty`);
        }
        await pool.end().catch(() => {});
        return EXIT_USAGE;
      }
    }
    try {
      // Reads get their own connections, so a busy page never holds up ingestion.
      readPool = await createPool(config.dbUri, { max: 3 });
      readPool.on("error", () => {});
      const app = createOpsApp(writer.metrics.registry, {
        postgres: () => within(pool!.query("SELECT 1"), 2_000, "PostgreSQL"),
        kafka: () => Promise.resolve(writer.kafkaProblem()),
      });
      app.route(
        "/",
        createStatusApp({
          store: createReadStore(readPool),
          apiToken,
          title: config.statusTitle,
          logError: (message, fields) => logger.warn(message, fields),
        }),
      );
      http = serveHttp(app, { ...config.http, signal: httpController.signal, logger });
    } catch (error) {
      console.error(`error: ${(error as Error).message}`);
      await readPool?.end().catch(() => {});
      await pool.end().catch(() => {});
      return EXIT_USAGE;
    }
  }
  const stop = (signal: string) => {
    if (controller.signal.aborted) return;
    logger.info(`${signal} received: finishing the batch in hand, then exiting`);
    controller.abort();
  };
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  try {
    await writer.run(controller.signal);
    return 0;
  } catch (error) {
    if (error instanceof DatabaseConfigError) {
      console.error(`error: Cannot use the database at ${maskUri(config.dbUri)}: ${error.message}`);
      return EXIT_USAGE;
    }
    if (controller.signal.aborted) return 0;
    logger.error("writer failed", { error: (error as Error).message });
    return EXIT_FAILURE;
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
    httpController.abort();
    await http?.finished;
    await readPool?.end().catch(() => {});
    await pool.end().catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

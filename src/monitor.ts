/**
 * availability-monitor: checks the targets of a TSV file on their schedules and publishes every
 * result to Kafka (or, with --stdout, prints them as NDJSON).
 *
 * @module
 */
import { EXIT_FAILURE, EXIT_USAGE, formatCliError } from "./cli/format_cli_error.ts";
import { resolveCommand } from "./cli/resolve_command.ts";
import { createStreamLogger, writeAllSync } from "./log/logger.ts";
import { keyFileWarning } from "./kafka/kafka_options.ts";
import { createKafkaSink } from "./monitor/kafka_sink.ts";
import { loadTargets } from "./monitor/load_targets.ts";
import { MONITOR_ENV_VARS, MONITOR_HELP, parseMonitorArgs } from "./monitor/monitor_config.ts";
import { createMonitor, type ResultSink } from "./monitor/run_monitor.ts";
import { createStdoutSink } from "./monitor/stdout_sink.ts";
import { watchFile } from "./monitor/watch_file.ts";
import { formatTargetsError } from "./targets/parse_tsv.ts";
import { createOpsApp } from "./http/ops_app.ts";
import { type HttpServer, serveHttp } from "./http/serve_http.ts";
import { VERSION } from "./version.ts";

/** Runs the program and returns its exit code. */
export async function main(args: string[]): Promise<number> {
  const env = Object.fromEntries(MONITOR_ENV_VARS.map((name) => [name, Deno.env.get(name)]));
  const command = resolveCommand(
    { name: "availability-monitor", version: VERSION, help: MONITOR_HELP },
    () => parseMonitorArgs(args, env, { hostname: safeHostname() }),
  );
  if ("exit" in command) return command.exit;
  const config = command.config;
  const encoder = new TextEncoder();
  const logger = createStreamLogger(config, Deno.stderr);
  const keyWarning = await keyFileWarning(
    config.output.kind === "kafka" ? config.output.kafka.sslKeyFile : undefined,
    async (path) => (await Deno.stat(path)).mode,
  );
  if (keyWarning) logger.warn(keyWarning);

  // Every problem in the targets file, before anything connects anywhere.
  const { targets, errors } = await loadTargets(
    config.targetsFile,
    config.shard,
    Deno.readTextFile,
  );
  if (errors.length > 0) {
    for (const error of errors) console.error(formatTargetsError(error));
    console.error(
      `error: ${errors.length} problem${errors.length === 1 ? "" : "s"} in ${config.targetsFile}`,
    );
    return EXIT_USAGE;
  }
  let targetsCa: string | undefined;
  if (config.targetsCaFile) {
    try {
      targetsCa = await Deno.readTextFile(config.targetsCaFile);
    } catch (error) {
      console.error(
        `error: Cannot read --targets-cafile ${config.targetsCaFile}: ${(error as Error).message}`,
      );
      return EXIT_USAGE;
    }
  }

  let sink: ResultSink;
  try {
    sink = config.output.kind === "stdout"
      ? createStdoutSink((line) => writeAllSync(Deno.stdout, encoder.encode(line)))
      : await createKafkaSink(config.output, { logger, readTextFile: Deno.readTextFile });
  } catch (error) {
    console.error(formatCliError(error).line);
    return EXIT_FAILURE;
  }

  const monitor = createMonitor(config, {
    sink,
    logger,
    readTextFile: Deno.readTextFile,
    targetsCa,
  });
  const controller = new AbortController();
  const httpController = new AbortController();
  let http: HttpServer | undefined;
  if (config.http) {
    const app = createOpsApp(monitor.metrics.registry, {
      kafka: () => Promise.resolve(sink.problem?.() ?? null),
    });
    try {
      http = serveHttp(app, { ...config.http, signal: httpController.signal, logger });
    } catch (error) {
      console.error(`error: ${(error as Error).message}`);
      await sink.close(0);
      return EXIT_USAGE;
    }
  }
  const stop = (signal: string) => {
    if (controller.signal.aborted) return;
    logger.info(`${signal} received: finishing checks in flight, then exiting`);
    controller.abort();
  };
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  const onHup = () => void monitor.reload("SIGHUP");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  if (!config.once) Deno.addSignalListener("SIGHUP", onHup);
  const watching = config.once
    ? Promise.resolve()
    : watchFile(config.targetsFile, () => void monitor.reload("file changed"), controller.signal)
      .catch((error) =>
        logger.warn("cannot watch the targets file; SIGHUP still reloads it", {
          error: (error as Error).message,
        })
      );
  try {
    const { undelivered } = await monitor.run(targets, controller.signal);
    return undelivered > 0 ? EXIT_FAILURE : 0;
  } catch (error) {
    logger.error("monitor failed", { error: (error as Error).message });
    return EXIT_FAILURE;
  } finally {
    controller.abort();
    httpController.abort();
    await http?.finished;
    await watching;
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
    if (!config.once) Deno.removeSignalListener("SIGHUP", onHup);
  }
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown-host";
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

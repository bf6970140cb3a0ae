/**
 * `deno task demo`: the whole pipeline on this machine in one command. It brings up the dev
 * services, runs the writer and the monitor as a user would, and prints a live summary of what
 * arrives in PostgreSQL: checks per second and the last result of each target.
 *
 * The targets are example.tsv's public sites when this machine reaches the internet, and
 * otherwise a local demo set (healthy, slow, failing, flapping) served by this script.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createPool } from "../src/db/create_pool.ts";
import { taskFlags } from "./compile.ts";

const HELP = `deno task demo [options]

Runs the services, the writer and the monitor, and prints what arrives in PostgreSQL.
Stop with Ctrl-C.

Options:
  --targets FILE     Targets file (default example.tsv; a local demo set without internet)
  --local            Use the local demo targets even with internet access
  --duration SEC     Stop by itself after SEC seconds
  --db-uri URI       Database (default postgres://postgres@127.0.0.1:5432/availability)
  --topic NAME       Kafka topic (default checks)
  --every SEC        Seconds between summaries (default 2)
  --http-port N      The writer's status page, read API and metrics on 127.0.0.1:N (default 8080),
                     the monitor's metrics on N+1`;

const ROOT = new URL("..", import.meta.url).pathname;

async function internetReachable(): Promise<boolean> {
  try {
    const response = await fetch("https://example.com/", {
      method: "HEAD",
      signal: AbortSignal.timeout(3_000),
    });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

function startDemoTargets(): { file: string; close: () => Promise<void> } {
  let flap = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const { pathname } = new URL(request.url);
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    switch (pathname) {
      case "/shop":
        return new Response("<h1>Shop</h1><p>All systems operational</p>", {
          headers: { "content-type": "text/html" },
        });
      case "/api":
        await wait(50 + Math.random() * 250);
        return Response.json({ status: "ok" });
      case "/legacy":
        return new Response("maintenance", { status: 503 });
      case "/flaky":
        return new Response("flaky", { status: flap++ % 3 === 0 ? 500 : 200 });
      case "/stuck":
        await wait(3_000);
        return new Response("too late");
      default:
        return new Response("not found", { status: 404 });
    }
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const file = Deno.makeTempFileSync({ prefix: "demo_targets_", suffix: ".tsv" });
  Deno.writeTextFileSync(
    file,
    [
      "# Local demo targets, served by scripts/demo.ts",
      "url\tname\tinterval\ttimeout\tregex",
      `${base}/shop\tshop (healthy)\t2s\t1s\toperational`,
      `${base}/api\tapi (slowish)\t2s\t1s\t"ok"`,
      `${base}/legacy\tlegacy (503)\t3s\t1s\t`,
      `${base}/flaky\tflaky (flapping)\t2s\t1s\t`,
      `${base}/stuck\tstuck (timeout)\t5s\t1s\t`,
    ].join("\n"),
  );
  return {
    file,
    async close() {
      await server.shutdown();
      await Deno.remove(file).catch(() => {});
    },
  };
}

/** Starts `deno <args>` with its stderr (the logs) going to `file`. */
function pipeTo(args: string[], file: Deno.FsFile): Deno.ChildProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  })
    .spawn();
  child.stderr.pipeTo(file.writable).catch(() => {});
  return child;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      targets: { type: "string" },
      local: { type: "boolean" },
      duration: { type: "string" },
      "db-uri": { type: "string" },
      topic: { type: "string" },
      every: { type: "string" },
      "http-port": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const dbUri = values["db-uri"] ?? "postgres://postgres@127.0.0.1:5432/availability";
  const topic = values.topic ?? "checks";
  const every = Number(values.every ?? 2) * 1_000;
  const httpPort = Number(values["http-port"] ?? 8080);
  if (!Number.isInteger(httpPort) || httpPort < 1 || httpPort > 65_534) {
    console.error(`error: Cannot use --http-port "${values["http-port"]}": expected 1 to 65534`);
    return 2;
  }

  console.log("== starting the services (deno task services up)");
  const services = await new Deno.Command("bash", {
    args: ["scripts/services.sh", "up"],
    cwd: ROOT,
  }).spawn().status;
  if (!services.success) return 1;

  let targetsFile = values.targets ?? `${ROOT}example.tsv`;
  let demo: { file: string; close: () => Promise<void> } | undefined;
  if (!values.targets && (values.local || !(await internetReachable()))) {
    demo = startDemoTargets();
    targetsFile = demo.file;
    console.log(
      `== ${
        values.local ? "--local" : "no internet access"
      }: using local demo targets (${targetsFile})`,
    );
  } else {
    console.log(`== targets: ${targetsFile}`);
  }

  const logDir = `${ROOT}.services/demo`;
  Deno.mkdirSync(logDir, { recursive: true });
  const kafka = ["--topic", topic];
  const writer = pipeTo(
    [
      "run",
      ...taskFlags("writer"),
      "src/writer.ts",
      "--db-uri",
      dbUri,
      ...kafka,
      "--http-port",
      String(httpPort),
      "--status-title",
      "Demo status",
      "--log-format",
      "text",
    ],
    Deno.openSync(`${logDir}/writer.log`, { create: true, write: true, truncate: true }),
  );
  const monitor = pipeTo(
    [
      "run",
      ...taskFlags("monitor"),
      "src/monitor.ts",
      ...kafka,
      "--location",
      "demo",
      "--http-port",
      String(httpPort + 1),
      "--log-format",
      "text",
      targetsFile,
    ],
    Deno.openSync(`${logDir}/monitor.log`, { create: true, write: true, truncate: true }),
  );
  console.log(
    `== writer and monitor running; their logs: ${logDir}/writer.log, ${logDir}/monitor.log`,
  );
  console.log(
    `== status page: http://127.0.0.1:${httpPort}/ (read API under /api/targets); metrics: ` +
      `http://127.0.0.1:${httpPort}/metrics (writer), http://127.0.0.1:${
        httpPort + 1
      }/metrics (monitor)`,
  );
  console.log("== Ctrl-C stops everything\n");

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  if (values.duration) setTimeout(onSignal, Number(values.duration) * 1_000);
  const exited = Promise.race([writer.status, monitor.status]).then(() => stop.abort());

  const pool = await createPool(dbUri, { max: 1 });
  try {
    while (!stop.signal.aborted) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, every);
        stop.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
      if (stop.signal.aborted) break;
      await printSummary(pool).catch((error) =>
        console.log(`(waiting for the writer: ${error.message})`)
      );
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    console.log("\n== stopping the monitor and the writer");
    for (const child of [monitor, writer]) {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
    }
    const [m, w] = await Promise.all([monitor.status, writer.status]);
    await exited;
    await printSummary(pool).catch(() => {});
    await pool.end();
    await demo?.close();
    console.log(
      `== monitor exited ${m.code}, writer exited ${w.code}; the services keep running (deno task services down)`,
    );
  }
  return 0;
}

async function printSummary(pool: Awaited<ReturnType<typeof createPool>>): Promise<void> {
  const { rows: [totals] } = await pool.query(`
    SELECT count(*) AS total,
           count(*) FILTER (WHERE inserted_at > now() - interval '10 seconds') AS recent
    FROM checks`);
  const { rows } = await pool.query(`
    SELECT DISTINCT ON (name) name, ok, status, error_kind, total_ms, checked_at
    FROM checks WHERE checked_at > now() - interval '15 minutes'
    ORDER BY name, checked_at DESC`);
  const rate = (Number(totals.recent) / 10).toFixed(1);
  console.log(
    `${
      new Date().toISOString().slice(11, 19)
    }  ${totals.total} checks stored, ${rate} checks/s (last 10 s)`,
  );
  for (const row of rows) {
    const state = row.ok ? "up  " : "DOWN";
    const detail = row.ok
      ? `${row.status}`
      : `${row.error_kind}${row.status ? ` ${row.status}` : ""}`;
    const ms = row.total_ms === null ? "" : `${Math.round(row.total_ms)} ms`;
    console.log(
      `  ${state}  ${String(row.name).padEnd(28)} ${detail.padEnd(12)} ${ms.padStart(8)}`,
    );
  }
}

if (import.meta.main) Deno.exit(await main());

/**
 * The read API benchmark: every endpoint of the read API and the status page, served over loopback
 * HTTP from the 43-million-row dataset of scripts/bench_dataset.ts, timed from request to last
 * byte. The app's clock is set to the end of the data, so the windows (24 h, 7 d, 30 d) are full.
 *
 * @module
 */
import { createPool } from "../src/db/create_pool.ts";
import { createReadStore } from "../src/read/read_store.ts";
import { createStatusApp } from "../src/read/status_app.tsx";
import { benchDataset } from "./bench_dataset.ts";
import { percentile } from "./percentile.ts";

/** Timings of one endpoint. */
export interface EndpointTiming {
  name: string;
  example: string;
  firstMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  bytes: number;
}

/** The result of the API benchmark. */
export interface ApiResult {
  targets: number;
  days: number;
  rows: number;
  generatedSeconds: number | null;
  runs: number;
  endpoints: EndpointTiming[];
  tableSizes: Record<string, string>;
}

/** Runs the benchmark (generating the dataset first when needed). */
export async function benchApi(
  adminUri: string,
  { targets = 1000, days = 30, runs = 30 }: { targets?: number; days?: number; runs?: number } = {},
): Promise<ApiResult> {
  const dataset = await benchDataset(adminUri, { targets, days, log: console.log });
  const pool = await createPool(dataset.uri, { max: 3 });
  const now = () => dataset.endsAt.getTime();
  const app = createStatusApp({ store: createReadStore(pool, { now }), now });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const ids = (await pool.query("SELECT target_id FROM target_status ORDER BY target_id")).rows
      .map((r) => r.target_id as string);
    const withIncidents = (await pool.query(
      "SELECT DISTINCT target_id FROM incidents ORDER BY target_id",
    )).rows.map((r) => r.target_id as string);
    const end = dataset.endsAt.getTime();
    const day = 86_400_000;
    let seed = 1;
    const pick = (list: string[]) => list[(seed = (seed * 16_807) % 2_147_483_647) % list.length]!;
    const midDay = (i: number) => new Date(end - (10 + (i % 15)) * day).toISOString();
    const cursorFor = async (id: string) => {
      const response = await fetch(`${base}/api/targets/${id}/checks?limit=100`);
      return (await response.json()).next_cursor as string;
    };

    const endpoints: { name: string; url: (i: number) => Promise<string> | string }[] = [
      { name: "GET /api/targets (all 1,000, windows and percentiles)", url: () => "/api/targets" },
      { name: "GET /api/targets/:id", url: () => `/api/targets/${pick(ids)}` },
      {
        name: "GET /api/targets/:id/checks (newest 100)",
        url: () => `/api/targets/${pick(ids)}/checks`,
      },
      {
        name: "GET /api/targets/:id/checks (second page, by cursor)",
        url: async () => {
          const id = pick(ids);
          return `/api/targets/${id}/checks?limit=100&cursor=${await cursorFor(id)}`;
        },
      },
      {
        name: "GET /api/targets/:id/checks (one day 10-25 days back, limit 1000)",
        url: (i) =>
          `/api/targets/${pick(ids)}/checks?from=${midDay(i)}&to=${
            new Date(Date.parse(midDay(i)) + day).toISOString()
          }&limit=1000`,
      },
      {
        name: "GET /api/targets/:id/incidents",
        url: () => `/api/targets/${pick(withIncidents)}/incidents`,
      },
      { name: "GET / (status page, first 50 of 1,000 targets)", url: () => "/" },
      { name: "GET /?page=20 (status page, last page)", url: () => "/?page=20" },
    ];
    const results: EndpointTiming[] = [];
    for (const endpoint of endpoints) {
      const times: number[] = [];
      let bytes = 0;
      let example = "";
      for (let i = 0; i <= runs; i++) {
        const path = await endpoint.url(i);
        example ||= path;
        const started = performance.now();
        const response = await fetch(`${base}${path}`);
        const body = await response.arrayBuffer();
        const ms = performance.now() - started;
        if (response.status !== 200) {
          throw new Error(`${path} answered ${response.status}: ${new TextDecoder().decode(body)}`);
        }
        bytes = body.byteLength;
        times.push(ms);
      }
      const [first, ...rest] = times;
      rest.sort((a, b) => a - b);
      const timing = {
        name: endpoint.name,
        example: example.replace(/cursor=[^&]+/, "cursor=…"),
        firstMs: first!,
        p50Ms: percentile(rest, 0.5),
        p95Ms: percentile(rest, 0.95),
        maxMs: rest[rest.length - 1]!,
        bytes,
      };
      console.log(
        `${timing.name}: first ${timing.firstMs.toFixed(1)} ms, p50 ${
          timing.p50Ms.toFixed(1)
        } ms, p95 ${timing.p95Ms.toFixed(1)} ms, max ${timing.maxMs.toFixed(1)} ms, ${bytes} bytes`,
      );
      results.push(timing);
    }
    const sizes = await pool.query(
      `SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) AS size FROM pg_class
       WHERE relname IN ('check_hourly', 'check_daily', 'target_status', 'incidents')`,
    );
    const checksSize = await pool.query(
      `SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) AS size FROM pg_inherits
       WHERE inhparent = 'checks'::regclass`,
    );
    return {
      targets,
      days,
      rows: dataset.rows,
      generatedSeconds: dataset.generatedSeconds,
      runs,
      endpoints: results,
      tableSizes: {
        checks: checksSize.rows[0]!.size as string,
        ...Object.fromEntries(sizes.rows.map((r) => [r.relname as string, r.size as string])),
      },
    };
  } finally {
    await server.shutdown();
    await pool.end();
  }
}

/** The docs/benchmarks.md section for the result. */
export function reportApi(api: ApiResult): string[] {
  return [
    "## 4. Read API and status page",
    "",
    `${api.targets.toLocaleString("en")} targets checked every minute for ${api.days} days: ${
      api.rows.toLocaleString("en")
    } rows in`,
    "`checks`, generated inside PostgreSQL by scripts/bench_dataset.ts (about 7 ten-minute outages per",
    "target and scattered 503s), aggregated by the writer's own rebuild (migration 2), then served by",
    "the read API's hono app over loopback HTTP with its clock at the end of the data. Each endpoint is",
    `requested once (first) and then ${api.runs} more times, each time for another target; the time runs`,
    "from the request to the last byte of the answer. Target: under 200 ms.",
    "",
    "| endpoint | example | first | p50 | p95 | max | bytes |",
    "|---|---|---|---|---|---|---|",
    ...api.endpoints.map((e) =>
      `| ${e.name} | \`${e.example}\` | ${e.firstMs.toFixed(0)} ms | ${e.p50Ms.toFixed(0)} ms | ${
        e.p95Ms.toFixed(0)
      } ms | ${e.maxMs.toFixed(0)} ms | ${e.bytes.toLocaleString("en")} |`
    ),
    "",
    `Slowest of all: **${
      Math.max(...api.endpoints.map((e) => Math.max(e.firstMs, e.maxMs))).toFixed(0)
    } ms**. On disk: ${Object.entries(api.tableSizes).map(([k, v]) => `${k} ${v}`).join(", ")}.${
      api.generatedSeconds === null
        ? ""
        : ` Generating and aggregating the dataset took ${api.generatedSeconds.toFixed(0)} s.`
    }`,
    "",
  ];
}

/**
 * The read API and the status page as one hono app, with no Kafka and no Deno APIs in it: it needs
 * only a ReadStore (so a @neondatabase/serverless Pool), which lets it run inside the writer, alone
 * under `deno serve` (src/status_server.ts), or on an edge or worker platform.
 *
 * - `GET /api/targets`, `/api/targets/:id`, `/api/targets/:id/checks`,
 *   `/api/targets/:id/incidents`: JSON, read-only, behind a bearer token when one is configured.
 * - `GET /`: the status page, server-rendered, refreshing itself, no JavaScript.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { compress } from "hono/compress";
import { type Cursor, decodeCursor, type ListQuery, type ReadStore } from "./read_store.ts";
import { StatusPage } from "./status_page.tsx";

/** Options of the app. */
export interface StatusAppOptions {
  store: ReadStore;
  /** When set, `/api/*` requires `Authorization: Bearer <token>`; the page stays public. */
  apiToken?: string | null;
  /** Page title. */
  title?: string;
  /** Seconds between the page's self-refreshes. */
  refreshSeconds?: number;
  /** Targets per page of the status page. */
  pageSize?: number;
  now?: () => number;
  /** Where failures of the database go (their details never reach the client). */
  logError?: (message: string, fields: Record<string, unknown>) => void;
}

/** A parameter the client got wrong: answered with 400 and a JSON body naming it. */
export class ParamError extends Error {
  constructor(readonly param: string, message: string) {
    super(message);
    this.name = "ParamError";
  }
}

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;
const RFC3339 =
  /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?$/;

/** Parses the query of a list endpoint; throws ParamError naming the first bad parameter. */
export function parseListQuery(params: URLSearchParams): ListQuery {
  const allowed = ["from", "to", "limit", "cursor"];
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      throw new ParamError(key, `Unknown parameter "${key}": expected ${allowed.join(", ")}`);
    }
  }
  const single = (name: string) => {
    const values = params.getAll(name);
    if (values.length > 1) {
      throw new ParamError(name, `Parameter "${name}" is given more than once`);
    }
    return values[0];
  };
  const time = (name: string): Date | null => {
    const text = single(name);
    if (text === undefined) return null;
    const date = new Date(text);
    if (!RFC3339.test(text) || Number.isNaN(date.getTime())) {
      throw new ParamError(
        name,
        `Cannot use ${name} "${text}": expected an RFC 3339 time like 2026-11-01T00:00:00Z or a date like 2026-11-01`,
      );
    }
    return date;
  };
  const from = time("from");
  const to = time("to");
  if (from && to && from.getTime() >= to.getTime()) {
    throw new ParamError("to", `Cannot use to "${single("to")}": it must be later than from`);
  }
  const limitText = single("limit");
  let limit = DEFAULT_LIMIT;
  if (limitText !== undefined) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT) {
      throw new ParamError(
        "limit",
        `Cannot use limit "${limitText}": expected a whole number from 1 to ${MAX_LIMIT}`,
      );
    }
  }
  const cursorText = single("cursor");
  let cursor: Cursor | null = null;
  if (cursorText !== undefined) {
    cursor = decodeCursor(cursorText);
    if (!cursor) {
      throw new ParamError(
        "cursor",
        `Cannot use cursor "${cursorText}": expected the next_cursor of an earlier answer`,
      );
    }
  }
  return { from, to, limit, cursor };
}

/** Compares two strings in time that depends only on their lengths. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % y.length] ?? 0);
  return diff === 0;
}

/** Builds the app (see the module comment). */
export function createStatusApp(options: StatusAppOptions): Hono {
  const { store } = options;
  const now = options.now ?? Date.now;
  const app = new Hono();
  // The page and the target list are hundreds of kB of repetitive text: gzip takes them to a tenth.
  app.use(compress());

  app.onError((error, c) => {
    if (error instanceof ParamError) {
      return c.json({ error: error.message, param: error.param }, 400);
    }
    // Details stay in the server's log; the client learns only that it failed.
    (options.logError ?? ((message, fields) => console.error(message, fields)))(
      "read API request failed",
      { method: c.req.method, path: c.req.path, error: error.message },
    );
    return c.json({ error: "Internal error while reading the database" }, 500);
  });

  app.use("/api/*", async (c, next) => {
    c.header("Cache-Control", "no-store");
    if (options.apiToken) {
      const header = c.req.header("Authorization") ?? "";
      const match = /^Bearer\s+(.+)$/i.exec(header);
      if (!match || !sameSecret(match[1]!.trim(), options.apiToken)) {
        c.header("WWW-Authenticate", 'Bearer realm="availability"');
        return c.json({ error: "Missing or wrong bearer token in the Authorization header" }, 401);
      }
    }
    await next();
  });

  const notFound = (c: Context, id: string) =>
    c.json({ error: `No target with id "${id}"`, param: "id" }, 404);

  app.get("/api/targets", async (c) => {
    const extra = [...new URL(c.req.url).searchParams.keys()][0];
    if (extra !== undefined) {
      throw new ParamError(extra, `Unknown parameter "${extra}": this endpoint takes none`);
    }
    return c.json({
      generated_at: new Date(now()).toISOString(),
      targets: await store.listTargets(),
    });
  });

  app.get("/api/targets/:id", async (c) => {
    const target = await store.getTarget(c.req.param("id"));
    return target ? c.json(target) : notFound(c, c.req.param("id"));
  });

  app.get("/api/targets/:id/checks", async (c) => {
    const id = c.req.param("id");
    const query = parseListQuery(new URL(c.req.url).searchParams);
    const [exists, page] = await Promise.all([store.targetExists(id), store.listChecks(id, query)]);
    if (!exists) return notFound(c, id);
    return c.json({ target_id: id, checks: page.items, next_cursor: page.nextCursor });
  });

  app.get("/api/targets/:id/incidents", async (c) => {
    const id = c.req.param("id");
    const query = parseListQuery(new URL(c.req.url).searchParams);
    const [exists, page] = await Promise.all([
      store.targetExists(id),
      store.listIncidents(id, query),
    ]);
    if (!exists) return notFound(c, id);
    return c.json({ target_id: id, incidents: page.items, next_cursor: page.nextCursor });
  });

  app.all(
    "/api/*",
    (c) => c.json({ error: `No such endpoint: ${c.req.method} ${c.req.path}` }, 404),
  );

  app.get("/", async (c) => {
    const pageSize = options.pageSize ?? 50;
    const pageText = c.req.query("page") ?? "1";
    const pageNumber = Number(pageText);
    if (!/^\d+$/.test(pageText) || pageNumber < 1) {
      return c.text(`Cannot use page "${pageText}": expected a whole number from 1`, 400);
    }
    const states = await store.listStates();
    // Down first, so trouble is at the top of the first page.
    states.sort((a, b) => a.state === b.state ? 0 : a.state === "down" ? -1 : 1);
    const pages = Math.max(1, Math.ceil(states.length / pageSize));
    if (pageNumber > pages) {
      return c.text(`No page ${pageNumber}: there ${pages === 1 ? "is 1" : `are ${pages}`}`, 404);
    }
    const ids = states.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map((t) => t.id);
    const [summaries, bars, latency, incidents] = await Promise.all([
      ids.length > 0 ? store.listTargets(ids) : Promise.resolve([]),
      store.dailyBars(ids, 90),
      store.hourlyLatency(ids, 24),
      store.recentIncidents(10),
    ]);
    const byId = new Map(summaries.map((t) => [t.id, t]));
    const shown = ids.flatMap((id) => byId.get(id) ?? []);
    const names = new Map(states.map((t) => [t.id, t.name]));
    c.header("Cache-Control", "no-store");
    const page = (
      <StatusPage
        title={options.title ?? "Status"}
        refreshSeconds={options.refreshSeconds ?? 60}
        now={now()}
        targets={shown}
        counts={{
          total: states.length,
          down: states.filter((t) => t.state === "down").length,
        }}
        page={{ number: pageNumber, count: pages }}
        bars={bars}
        latency={latency}
        incidents={incidents.map((i) => ({ ...i, name: names.get(i.target_id) ?? i.target_id }))}
      />
    );
    return c.html(`<!DOCTYPE html>${await page.toString()}`);
  });

  return app;
}

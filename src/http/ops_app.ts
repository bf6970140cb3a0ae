/**
 * The endpoints every process serves for its operators: `/healthz` (the process answers),
 * `/readyz` (its dependencies answer: 200 or 503 with each check by name) and `/metrics` (the
 * Prometheus text format).
 *
 * @module
 */
import { Hono } from "hono";
import type { MetricsRegistry } from "../metrics/metrics_registry.ts";

/** A dependency check for /readyz: resolves to null when fine, or a reason when not. */
export type ReadinessCheck = () => Promise<string | null>;

/** Builds the app; `checks` name the dependencies /readyz asks; no /metrics without a registry. */
export function createOpsApp(
  registry: MetricsRegistry | null,
  checks: Record<string, ReadinessCheck>,
): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const results = Object.fromEntries(
      await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          const problem = await check().catch((error) => (error as Error).message);
          return [name, problem === null ? { ok: true } : { ok: false, error: problem }] as const;
        }),
      ),
    );
    const ready = Object.values(results).every((r) => r.ok);
    c.header("Cache-Control", "no-store");
    return c.json({ ready, checks: results }, ready ? 200 : 503);
  });
  if (!registry) return app;
  app.get("/metrics", async (c) => {
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    c.header("Cache-Control", "no-store");
    return c.body(await registry.render());
  });
  return app;
}

/** Resolves to null once `promise` does within `ms`, or to a reason naming the timeout. */
export async function within(
  promise: Promise<unknown>,
  ms: number,
  what: string,
): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => null),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`${what}: no answer within ${ms} ms`), ms);
      }),
    ]);
  } catch (error) {
    return `${what}: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

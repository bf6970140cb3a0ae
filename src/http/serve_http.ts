/**
 * Serves a hono app on a host and port until a signal aborts, for the `--http-port` of both
 * programs.
 *
 * @module
 */
import type { Hono } from "hono";
import type { Logger } from "../log/logger.ts";

/** A running server: the port it got (useful with port 0) and a promise of its end. */
export interface HttpServer {
  port: number;
  finished: Promise<void>;
}

/** Starts serving; throws (naming host and port) when the address cannot be bound. */
export function serveHttp(
  app: Hono,
  options: { hostname: string; port: number; signal: AbortSignal; logger: Logger },
): HttpServer {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      signal: options.signal,
      onListen: () => {},
      onError: (error) => {
        options.logger.error("HTTP request failed", { error: (error as Error).message });
        return new Response("Internal error", { status: 500 });
      },
    }, app.fetch);
  } catch (cause) {
    throw new Error(
      `Cannot listen on ${options.hostname}:${options.port} for --http-port: ${
        (cause as Error).message
      }`,
      { cause },
    );
  }
  const port = server.addr.port;
  options.logger.info("HTTP listening", {
    url: `http://${
      options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname
    }:${port}/`,
  });
  return { port, finished: server.finished };
}

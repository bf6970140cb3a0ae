/**
 * PostgreSQL connection pools on @neondatabase/serverless, for Neon and for any other server.
 *
 * To a Neon host the driver goes straight over its secure WebSocket. To any other host each
 * connection's WebSocket is a TcpWebSocket, which carries the protocol over TCP itself and applies
 * `sslmode` and `sslrootcert` from the URI the way libpq does, so no proxy process is needed.
 *
 * @module
 */
import { Client, Pool } from "@neondatabase/serverless";
import {
  type SslMode,
  tcpWebSocketClass,
  type WebSocketLikeConstructor,
} from "./tcp_web_socket.ts";
import { maskUri } from "./mask_uri.ts";

/**
 * Environment variables the bundled node-postgres reads on every connection (libpq's PG*
 * variables, which operators may rely on, and the user name), so its users must allow them.
 */
export const PG_DRIVER_ENV_VARS = [
  "USER",
  "USERNAME",
  "PGHOST",
  "PGPORT",
  "PGUSER",
  "PGPASSWORD",
  "PGDATABASE",
  "PGAPPNAME",
  "PGAPPLICATION_NAME",
  "PGFALLBACK_APPLICATION_NAME",
  "PGOPTIONS",
  "PGCLIENT_ENCODING",
  "PGCONNECT_TIMEOUT",
  "PGSTATEMENT_TIMEOUT",
  "PGLOCK_TIMEOUT",
  "PGQUERY_TIMEOUT",
  "PGBINARY",
  "PGREPLICATION",
  "PGPASS_NO_DEESCAPE",
  "PGSSLMODE",
  "NODE_PG_FORCE_NATIVE",
] as const;

/** Options for `createPool`. */
export interface CreatePoolOptions {
  /** Most connections open at once. */
  max?: number;
  /** Reads the `sslrootcert` file; defaults to Deno.readTextFile. */
  readTextFile?: (path: string) => Promise<string>;
}

/** A parsed connection URI: what the driver gets, and how to reach the server. */
export interface DbTarget {
  /** The URI without the TLS parameters, which the bridge applies itself. */
  connectionString: string;
  host: string;
  port: number;
  /** True for Neon hosts, which take the driver's own WebSocket connection. */
  neon: boolean;
  sslMode: SslMode;
  sslRootCert: string | undefined;
}

const SSL_MODES: readonly string[] = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
];
const NEON_HOST = /\.neon\.(tech|build)$/i;

/** Parses and checks a PostgreSQL URI; throws a TypeError naming the problem (password masked). */
export function parseDbUri(uri: string): DbTarget {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new TypeError(
      `Cannot parse database URI ${maskUri(uri)}: expected postgres://USER@HOST/DB`,
    );
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new TypeError(
      `Cannot use database URI ${maskUri(uri)}: expected the scheme postgres:// or postgresql://`,
    );
  }
  if (!url.hostname) {
    throw new TypeError(`Cannot use database URI ${maskUri(uri)}: it names no host`);
  }
  const rawMode = url.searchParams.get("sslmode") ?? "prefer";
  if (!SSL_MODES.includes(rawMode)) {
    throw new TypeError(
      `Cannot use sslmode "${rawMode}" in ${maskUri(uri)}: expected one of ${SSL_MODES.join(", ")}`,
    );
  }
  const sslRootCert = url.searchParams.get("sslrootcert") ?? undefined;
  // libpq: "allow" tries plaintext first, which we simply use; "require" with a root certificate
  // verifies the chain like verify-ca.
  let sslMode = (rawMode === "allow" ? "disable" : rawMode) as SslMode;
  if (sslMode === "require" && sslRootCert) sslMode = "verify-ca";
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const neon = NEON_HOST.test(host);
  if (!neon) {
    for (const key of ["sslmode", "sslrootcert", "sslcert", "sslkey", "channel_binding"]) {
      url.searchParams.delete(key);
    }
  }
  return {
    connectionString: url.toString(),
    host,
    port: Number(url.port || 5432),
    neon,
    sslMode,
    sslRootCert,
  };
}

/**
 * A pool of connections to the database at `uri` (see the module comment). An idle connection
 * that fails (a server restart, a terminated backend) is dropped by the pool; it must not end the
 * process, so the pool always has an error listener. Add one to log such events.
 */
export async function createPool(uri: string, options: CreatePoolOptions = {}): Promise<Pool> {
  const target = parseDbUri(uri);
  if (target.neon) {
    const pool = new Pool({ connectionString: target.connectionString, max: options.max });
    pool.on("error", () => {});
    return pool;
  }
  const readTextFile = options.readTextFile ?? Deno.readTextFile;
  let ca: string | undefined;
  if (target.sslRootCert) {
    try {
      ca = await readTextFile(target.sslRootCert);
    } catch (cause) {
      throw new Error(`Cannot read sslrootcert ${target.sslRootCert}`, { cause });
    }
  }
  const webSocket = tcpWebSocketClass({ mode: target.sslMode, ca });
  const pool = new Pool({ connectionString: target.connectionString, max: options.max });
  pool.on("error", () => {});
  // NeonPool sets its own Client class as a field after construction, overriding the `Client`
  // option of node-postgres, so the bridged class is installed the same way.
  Object.defineProperty(pool, "Client", { value: bridgedClientClass(webSocket), writable: true });
  return pool;
}

function bridgedClientClass(webSocket: WebSocketLikeConstructor): typeof Client {
  return class BridgedClient extends Client {
    // deno-lint-ignore no-explicit-any
    constructor(config?: any) {
      super(config);
      const settings = this.neonConfig;
      settings.webSocketConstructor = webSocket as unknown as typeof settings.webSocketConstructor;
      settings.wsProxy = (host, port) => `${host.includes(":") ? `[${host}]` : host}:${port}`;
      settings.useSecureWebSocket = false;
      // The bridge does TLS below the driver; the driver must not try its own.
      settings.forceDisablePgSSL = true;
      // Pipelining the startup assumes cleartext password auth, which ordinary servers rarely use.
      settings.pipelineConnect = false;
    }
  };
}

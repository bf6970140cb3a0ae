/**
 * A WebSocket-shaped adaptor over a plain TCP (optionally TLS) connection, so that
 * @neondatabase/serverless, which speaks the PostgreSQL protocol inside WebSocket frames, can reach
 * an ordinary PostgreSQL server without a separate WebSocket proxy process.
 *
 * The driver opens `ws://HOST:PORT`, sends PostgreSQL protocol bytes with `send()` and reads them from
 * `message` events; this class carries the same bytes over a TCP socket. When TLS is asked for, it
 * negotiates it the way libpq does (SSLRequest, then a TLS handshake on the same socket) before it
 * reports `open`, so the driver never sees the encryption.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";

/** How to use TLS towards the server, after libpq's `sslmode`. */
export type SslMode = "disable" | "prefer" | "require" | "verify-ca" | "verify-full";

/** TLS settings for the bridge. */
export interface TcpBridgeTls {
  /** The libpq-style mode. */
  mode: SslMode;
  /** PEM root certificates to trust (from `sslrootcert`); the system store when absent. */
  ca?: string;
}

/** The part of the WebSocket constructor interface the driver uses. */
export type WebSocketLikeConstructor = new (url: string) => TcpWebSocket;

type Listener = (event: unknown) => void;

// The PostgreSQL SSLRequest message: length 8, request code 80877103.
const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const CONNECT_TIMEOUT_MS = 10_000;

/** A WebSocket look-alike whose frames travel over TCP (see the module comment). */
export class TcpWebSocket {
  /** Accepted for compatibility; messages always carry ArrayBuffers. */
  binaryType = "arraybuffer";
  #listeners = new Map<string, Listener[]>();
  #socket: net.Socket | undefined;
  #closed = false;

  constructor(url: string, tlsSettings: TcpBridgeTls) {
    const { hostname, port } = new URL(url);
    const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
    // Connect on the next tick so the caller can attach its listeners first, as with a WebSocket.
    queueMicrotask(() => {
      this.#open(host, Number(port || 5432), tlsSettings).catch((error) => this.#fail(error));
    });
  }

  /** Registers a listener for `open`, `message`, `close` or `error`. */
  addEventListener(type: string, listener: Listener): void {
    const list = this.#listeners.get(type) ?? [];
    list.push(listener);
    this.#listeners.set(type, list);
  }

  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type: string, listener: Listener): void {
    const list = this.#listeners.get(type);
    if (list) this.#listeners.set(type, list.filter((l) => l !== listener));
  }

  /** Sends protocol bytes to the server. */
  send(data: Uint8Array | ArrayBuffer | string): void {
    if (!this.#socket || this.#closed) return;
    this.#socket.write(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
  }

  /** Closes the connection. */
  close(): void {
    if (this.#closed) return;
    this.#socket?.end();
    this.#socket?.destroy();
    this.#finish();
  }

  #emit(type: string, event: unknown): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(event);
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#emit("error", error instanceof Error ? error : new Error(String(error)));
    this.#socket?.destroy();
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#emit("close", { code: 1000, reason: "" });
  }

  async #open(host: string, port: number, tlsSettings: TcpBridgeTls): Promise<void> {
    let socket = await connectTcp(host, port);
    this.#socket = socket;
    if (tlsSettings.mode !== "disable") {
      const accepted = await requestSsl(socket);
      if (accepted) {
        socket = await upgradeToTls(socket, host, tlsSettings);
        this.#socket = socket;
      } else if (tlsSettings.mode !== "prefer") {
        throw new Error(
          `server ${host}:${port} does not support SSL, but sslmode=${tlsSettings.mode}`,
        );
      }
    }
    socket.on("data", (chunk: Uint8Array) => {
      const data = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength);
      this.#emit("message", { data });
    });
    socket.on("error", (error: Error) => this.#fail(error));
    socket.on("close", () => this.#finish());
    // The SSL exchange may have paused the socket; data listeners do not resume it by themselves.
    socket.resume();
    this.#emit("open", {});
  }
}

/** A TcpWebSocket class bound to TLS settings, to hand to the driver as its constructor. */
export function tcpWebSocketClass(tlsSettings: TcpBridgeTls): WebSocketLikeConstructor {
  return class extends TcpWebSocket {
    constructor(url: string) {
      super(url, tlsSettings);
    }
  };
}

function connectTcp(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out connecting to ${host}:${port}`));
    }, CONNECT_TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function requestSsl(socket: net.Socket): Promise<boolean> {
  return new Promise((resolve, reject) => {
    socket.once("data", (chunk: Uint8Array) => {
      socket.removeAllListeners("error");
      socket.pause();
      // The answer is one byte; a server that sends more before the handshake is not to be trusted.
      if (chunk.length !== 1) reject(new Error("unexpected answer to the SSL request"));
      else resolve(chunk[0] === 0x53); // "S"
    });
    socket.once("error", reject);
    socket.write(SSL_REQUEST);
  });
}

function upgradeToTls(
  socket: net.Socket,
  host: string,
  { mode, ca }: TcpBridgeTls,
): Promise<tls.TLSSocket> {
  const verifyChain = mode === "verify-ca" || mode === "verify-full";
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      host,
      ca,
      // SNI takes names only, never IP addresses.
      servername: net.isIP(host) ? undefined : host,
      rejectUnauthorized: verifyChain,
      // verify-ca checks the chain but not the name, as libpq does.
      checkServerIdentity: () => undefined,
    });
    secure.once("secureConnect", () => {
      secure.removeAllListeners("error");
      // verify-full: the certificate must name the host we connected to. Checked here, on the
      // certificate itself, so that the outcome does not depend on which name the runtime's TLS
      // layer falls back to when the host is an IP address.
      if (mode === "verify-full") {
        const mismatch = tls.checkServerIdentity(host, secure.getPeerCertificate());
        if (mismatch) {
          secure.destroy();
          reject(mismatch);
          return;
        }
      }
      resolve(secure);
    });
    secure.once("error", reject);
  });
}

/**
 * One HTTP check of one target, with its timing phases, on a fresh connection.
 *
 * node:http/https, not fetch: only they expose the lookup, connect and secureConnect moments of a
 * request, and `agent: false` guarantees a new connection per check (a reused keep-alive socket
 * would hide a dead listener and the connect time). Every outcome is a CheckResult value; nothing
 * here throws for a failed check.
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import zlib from "node:zlib";
import type { Readable } from "node:stream";
import type { Target } from "../targets/target.ts";
import { statusAccepted } from "../targets/parse_expect.ts";
import type { CheckError, CheckResult, ErrorKind } from "./check_result.ts";
import type { RegexRunner } from "./regex_runner.ts";
import { uuidV7 } from "./uuid_v7.ts";

/** Settings that are the same for every check of a monitor. */
export interface CheckOptions {
  /** Location label of this monitor. */
  location: string;
  /** Instance label of this monitor. */
  monitor: string;
  /** Most body bytes read, on the wire and after decoding. */
  maxBodyBytes: number;
  /** Most redirects followed. */
  maxRedirects: number;
  /** Extra PEM CA certificates trusted for https targets, besides the system store. */
  ca?: string;
  /** Wall clock in milliseconds, for timestamps. */
  now?: () => number;
  /**
   * Runs regexes off the main thread, bounded by the check's timeout. Without one the regex runs
   * inline, where catastrophic backtracking would stall everything: the monitor always passes one.
   */
  regexRunner?: RegexRunner;
}

/** Defaults for CheckOptions. */
export const CHECK_DEFAULTS = { maxBodyBytes: 1024 * 1024, maxRedirects: 5 } as const;

interface Phases {
  dns: number | null;
  connect: number | null;
  tls: number | null;
  ttfb: number | null;
}

interface Hop {
  status: number;
  location: string | undefined;
  phases: Phases;
  bytes: number;
  body: Uint8Array | null;
  contentType: string | undefined;
  tlsExpiresAt: string | null;
  error: CheckError | null;
}

class CheckFailure extends Error {
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
  }
}

const regexCache = new Map<string, RegExp>();

/** Checks `target` once and describes the outcome; `scheduledAt` is when the schedule wanted it. */
export async function checkTarget(
  target: Target,
  scheduledAt: number,
  options: CheckOptions,
): Promise<CheckResult> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const started = performance.now();
  const base = {
    v: 1 as const,
    check_id: uuidV7(startedAt),
    target_id: target.id,
    name: target.name,
    url: target.url,
    method: target.method,
    location: options.location,
    monitor: options.monitor,
    scheduled_at: new Date(scheduledAt).toISOString(),
    started_at: new Date(startedAt).toISOString(),
  };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), target.timeoutMs);
  let url = target.url;
  let method = target.method as string;
  let redirects = 0;
  let hop: Hop | undefined;
  let tlsExpiresAt: string | null = null;
  try {
    while (true) {
      hop = await request(url, method, target, options, deadline.signal);
      if (hop.tlsExpiresAt) tlsExpiresAt = hop.tlsExpiresAt;
      if (hop.error || !isRedirect(hop.status) || !hop.location || !followsRedirects(target)) break;
      if (redirects >= options.maxRedirects) {
        hop.error = {
          kind: "http",
          message: `more than ${options.maxRedirects} redirects (last to ${hop.location})`,
        };
        break;
      }
      redirects++;
      url = new URL(hop.location, url).href;
      if (hop.status === 303 && method !== "HEAD") method = "GET";
    }
  } finally {
    clearTimeout(timer);
  }
  let error = hop.error;
  let regexMatch: boolean | null = null;
  if (!error && !statusAccepted(hop.status, target.expect)) {
    error = {
      kind: "status",
      message: `unexpected status ${hop.status}: expected ${describeExpect(target)}`,
    };
  }
  if (!error && target.regex !== null) {
    const decoded = decodeText(hop.body ?? new Uint8Array(), hop.contentType);
    if (typeof decoded !== "string") {
      error = decoded;
    } else {
      const remaining = target.timeoutMs - (performance.now() - started);
      const outcome = options.regexRunner
        ? await options.regexRunner.test(target.regex, decoded, remaining)
        : compiled(target.regex).test(decoded);
      if (outcome === "timeout") {
        error = {
          kind: "regex",
          message:
            `regex /${target.regex}/ did not finish within the ${target.timeoutMs} ms timeout (catastrophic backtracking?)`,
        };
      } else {
        regexMatch = outcome;
        if (!regexMatch) {
          error = { kind: "regex", message: `body does not match /${target.regex}/` };
        }
      }
    }
  }
  const totalMs = round(performance.now() - started);
  return {
    ...base,
    status: hop.status === 0 ? null : hop.status,
    dns_ms: hop.phases.dns,
    connect_ms: hop.phases.connect,
    tls_ms: hop.phases.tls,
    ttfb_ms: hop.phases.ttfb,
    total_ms: totalMs,
    bytes: hop.bytes,
    redirects,
    final_url: url,
    regex_match: regexMatch,
    tls_expires_at: tlsExpiresAt,
    ok: error === null,
    error,
  };
}

function request(
  url: string,
  method: string,
  target: Target,
  options: CheckOptions,
  deadline: AbortSignal,
): Promise<Hop> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const marks: { lookup?: number; connect?: number; secure?: number; response?: number } = {};
    const hop: Hop = {
      status: 0,
      location: undefined,
      phases: { dns: null, connect: null, tls: null, ttfb: null },
      bytes: 0,
      body: null,
      contentType: undefined,
      tlsExpiresAt: null,
      error: null,
    };
    let settled = false;
    const finish = (error: CheckError | null) => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener("abort", onAbort);
      const { lookup, connect, secure, response } = marks;
      hop.phases = {
        dns: lookup === undefined ? null : round(lookup - t0),
        connect: connect === undefined ? null : round(connect - (lookup ?? t0)),
        tls: secure === undefined || connect === undefined ? null : round(secure - connect),
        ttfb: response === undefined ? null : round(response - (secure ?? connect ?? t0)),
      };
      hop.error = error;
      req.destroy();
      resolve(hop);
    };
    const phase = () =>
      marks.response !== undefined
        ? "reading the body"
        : marks.secure !== undefined || (marks.connect !== undefined && !url.startsWith("https:"))
        ? "waiting for the response"
        : marks.connect !== undefined
        ? "in the TLS handshake"
        : marks.lookup !== undefined || isIpHost(url)
        ? "connecting"
        : "resolving the host name";
    const onAbort = () =>
      finish({
        kind: "timeout",
        message: `no complete answer within ${target.timeoutMs} ms (timed out ${phase()})`,
      });

    const module = url.startsWith("https:") ? https : http;
    const req = module.request(url, {
      method,
      agent: false,
      // Under Deno, `ca` adds to the system's trusted roots rather than replacing them.
      ca: options.ca,
      headers: {
        "user-agent": "availability-monitor",
        "accept-encoding": "gzip, deflate, br",
        accept: "*/*",
      },
    }, (res) => {
      marks.response = performance.now();
      hop.status = res.statusCode ?? 0;
      hop.location = res.headers.location;
      hop.contentType = res.headers["content-type"];
      const socket = res.socket as TLSSocket;
      if (typeof socket.getPeerCertificate === "function") {
        const validTo = socket.getPeerCertificate()?.valid_to;
        if (validTo) hop.tlsExpiresAt = new Date(validTo).toISOString();
      }
      if (method === "HEAD" || isRedirect(hop.status)) {
        res.resume();
        res.on("end", () => finish(null));
        res.on("error", (error) => finish(classify(error, phase())));
        return;
      }
      readBody(res, res.headers["content-encoding"], options.maxBodyBytes, target.regex !== null)
        .then(({ bytes, body }) => {
          hop.bytes = bytes;
          hop.body = body;
          finish(null);
        })
        .catch((error) => finish(classify(error, phase())));
    });
    req.on("socket", (socket: Socket) => {
      socket.once("lookup", () => (marks.lookup = performance.now()));
      socket.once("connect", () => (marks.connect = performance.now()));
      socket.once("secureConnect", () => (marks.secure = performance.now()));
    });
    req.on("error", (error) => finish(classify(error, phase())));
    if (deadline.aborted) onAbort();
    else deadline.addEventListener("abort", onAbort);
    req.end();
  });
}

// Reads the body up to the limit and decodes its content-encoding, bounded after decoding too (a
// small gzip body can expand to gigabytes). Without a regex the body is only counted.
async function readBody(
  res: Readable,
  encoding: string | undefined,
  limit: number,
  keep: boolean,
): Promise<{ bytes: number; body: Uint8Array | null }> {
  let bytes = 0;
  let source: Readable = res;
  const coding = encoding?.trim().toLowerCase();
  if (keep && coding && coding !== "identity") {
    const decoder = coding === "gzip" || coding === "x-gzip"
      ? zlib.createGunzip()
      : coding === "deflate"
      ? zlib.createInflate()
      : coding === "br"
      ? zlib.createBrotliDecompress()
      : undefined;
    if (!decoder) throw new CheckFailure("body", `unsupported content-encoding "${coding}"`);
    res.on("data", (chunk: Uint8Array) => (bytes += chunk.length));
    res.on("error", (error) => decoder.destroy(error));
    source = res.pipe(decoder);
  }
  const chunks: Uint8Array[] = [];
  let kept = 0;
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    if (source === res) bytes += chunk.length;
    kept += chunk.length;
    if (kept > limit) {
      if (!keep) return { bytes: limit, body: null };
      throw new CheckFailure(
        "body",
        `body larger than ${limit} bytes${source === res ? "" : " after decoding"}`,
      );
    }
    if (keep) chunks.push(chunk);
  }
  if (!keep) return { bytes, body: null };
  const body = new Uint8Array(kept);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, body };
}

function decodeText(body: Uint8Array, contentType: string | undefined): string | CheckError {
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "")?.[1] ?? "utf-8";
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return { kind: "body", message: `unsupported charset "${charset}"` };
  }
}

const CONNECT_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPIPE: "connection closed while sending",
  ETIMEDOUT: "connection timed out",
  ECONNABORTED: "connection aborted",
};
const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME", "ENODATA"]);

/** The error kind and message for an exception from node:http, node:tls or node:zlib. */
export function classify(error: unknown, phase: string): CheckError {
  if (error instanceof CheckFailure) return { kind: error.kind, message: error.message };
  const err = error as { code?: string; message?: string };
  const code = err.code ?? "";
  const message = err.message ?? String(error);
  if (DNS_CODES.has(code)) return { kind: "dns", message: `cannot resolve host name (${code})` };
  if (code in CONNECT_CODES) {
    return { kind: "connect", message: `${CONNECT_CODES[code]} (${code}) while ${phase}` };
  }
  if (
    /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_|HOSTNAME|ALTNAME/.test(code) ||
    /certificate|handshake|tls/i.test(message)
  ) {
    return { kind: "tls", message: code ? `${message} (${code})` : message };
  }
  if (code.startsWith("HPE_") || /parse error/i.test(message)) {
    return { kind: "http", message: `malformed HTTP response: ${message}` };
  }
  if (code.startsWith("Z_") || /incorrect header check|unexpected end of file/i.test(message)) {
    return { kind: "body", message: `cannot decode the body: ${message}` };
  }
  return { kind: "connect", message: code ? `${message} (${code})` : message };
}

function followsRedirects(target: Target): boolean {
  // A target that expects only redirect codes (301, 3xx) checks the redirect itself.
  return !target.expect.every((range) => range.from >= 300 && range.to <= 399);
}

function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status);
}

function isIpHost(url: string): boolean {
  const host = new URL(url).hostname;
  return /^[\d.]+$/.test(host) || host.startsWith("[");
}

function describeExpect(target: Target): string {
  return target.expect.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(",");
}

function compiled(source: string): RegExp {
  let regex = regexCache.get(source);
  if (!regex) {
    regex = new RegExp(source);
    regexCache.set(source, regex);
  }
  return regex;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

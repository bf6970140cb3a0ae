/**
 * Turns the bytes of a Kafka message into a typed row for the `checks` table, or a reason why it
 * cannot be one (which sends it to `dead_letters`). A bad message is a value here, never an
 * exception.
 *
 * @module
 */
import type { ErrorKind } from "../check/check_result.ts";

/** One row of `checks`: every field of a schema-v1 message, typed. */
export interface CheckRow {
  checkId: string;
  /** started_at: the partition key. */
  checkedAt: Date;
  scheduledAt: Date;
  targetId: string;
  name: string;
  url: string;
  method: string;
  location: string;
  monitor: string;
  status: number | null;
  dnsMs: number | null;
  connectMs: number | null;
  tlsMs: number | null;
  ttfbMs: number | null;
  totalMs: number;
  bytes: number;
  redirects: number;
  finalUrl: string;
  regexMatch: boolean | null;
  tlsExpiresAt: Date | null;
  ok: boolean;
  errorKind: ErrorKind | null;
  errorMessage: string | null;
}

/** A parsed message: a row, or the reason it is a dead letter. */
export type ParsedMessage = { row: CheckRow } | { reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ERROR_KINDS: readonly string[] = [
  "timeout",
  "dns",
  "connect",
  "tls",
  "http",
  "status",
  "regex",
  "body",
];
const MAX_TEXT = 8_192;
const MAX_MESSAGE_BYTES = 1_000_000;

class Invalid extends Error {}

// Decoding is stateless between calls, so one decoder serves every message.
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Parses and validates a message value (schema v1). */
export function parseCheckMessage(value: Uint8Array | null): ParsedMessage {
  if (value === null) return { reason: "empty message (no value)" };
  if (value.length > MAX_MESSAGE_BYTES) {
    return { reason: `message of ${value.length} bytes is larger than ${MAX_MESSAGE_BYTES}` };
  }
  let data: unknown;
  try {
    data = JSON.parse(UTF8.decode(value));
  } catch (error) {
    return { reason: `not JSON: ${(error as Error).message}` };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { reason: "not a JSON object" };
  }
  const m = data as Record<string, unknown>;
  if (m.v !== 1) {
    return { reason: `unsupported schema version ${JSON.stringify(m.v ?? null)}: expected 1` };
  }
  try {
    const error = m.error;
    let errorKind: ErrorKind | null = null;
    let errorMessage: string | null = null;
    if (error !== null && error !== undefined) {
      if (typeof error !== "object" || Array.isArray(error)) {
        throw new Invalid("error: expected an object or null");
      }
      const e = error as Record<string, unknown>;
      if (typeof e.kind !== "string" || !ERROR_KINDS.includes(e.kind)) {
        throw new Invalid(`error.kind: expected one of ${ERROR_KINDS.join(", ")}`);
      }
      errorKind = e.kind as ErrorKind;
      errorMessage = text(e.message, "error.message");
    }
    const ok = bool(m.ok, "ok");
    if (ok === (errorKind !== null)) throw new Invalid("ok and error disagree");
    const checkId = text(m.check_id, "check_id");
    if (!UUID.test(checkId)) throw new Invalid("check_id: expected a UUID");
    return {
      row: {
        checkId: checkId.toLowerCase(),
        checkedAt: time(m.started_at, "started_at"),
        scheduledAt: time(m.scheduled_at, "scheduled_at"),
        targetId: text(m.target_id, "target_id"),
        name: text(m.name, "name"),
        url: text(m.url, "url"),
        method: text(m.method, "method"),
        location: text(m.location, "location"),
        monitor: text(m.monitor, "monitor"),
        status: nullable(m.status, (v) => integer(v, "status", 100, 599)),
        dnsMs: nullable(m.dns_ms, (v) => duration(v, "dns_ms")),
        connectMs: nullable(m.connect_ms, (v) => duration(v, "connect_ms")),
        tlsMs: nullable(m.tls_ms, (v) => duration(v, "tls_ms")),
        ttfbMs: nullable(m.ttfb_ms, (v) => duration(v, "ttfb_ms")),
        totalMs: duration(m.total_ms, "total_ms"),
        bytes: integer(m.bytes, "bytes", 0, Number.MAX_SAFE_INTEGER),
        redirects: integer(m.redirects, "redirects", 0, 1_000),
        finalUrl: text(m.final_url ?? m.url, "final_url"),
        regexMatch: nullable(m.regex_match, (v) => bool(v, "regex_match")),
        tlsExpiresAt: nullable(m.tls_expires_at, (v) => time(v, "tls_expires_at")),
        ok,
        errorKind,
        errorMessage,
      },
    };
  } catch (error) {
    if (error instanceof Invalid) return { reason: `invalid field ${error.message}` };
    throw error;
  }
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string") throw new Invalid(`${field}: expected a string`);
  if (value.length > MAX_TEXT) throw new Invalid(`${field}: longer than ${MAX_TEXT} characters`);
  // PostgreSQL text cannot hold NUL.
  if (value.includes("\u0000")) throw new Invalid(`${field}: contains a NUL character`);
  return value;
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") throw new Invalid(`${field}: expected true or false`);
  return value;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new Invalid(`${field}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}

function duration(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 86_400_000) {
    throw new Invalid(`${field}: expected milliseconds from 0 to 86400000`);
  }
  return value;
}

function time(value: unknown, field: string): Date {
  if (
    typeof value !== "string" ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
  ) {
    throw new Invalid(`${field}: expected an ISO 8601 timestamp`);
  }
  const date = new Date(value);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 2000 || year > 9999) {
    throw new Invalid(`${field}: expected a timestamp between the years 2000 and 9999`);
  }
  return date;
}

function nullable<T>(value: unknown, parse: (value: unknown) => T): T | null {
  return value === null || value === undefined ? null : parse(value);
}

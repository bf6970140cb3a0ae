/**
 * The result of one check: the value of a Kafka message, schema v1 (see README "Message schema").
 *
 * @module
 */

/** Why a check failed. */
export type ErrorKind =
  | "timeout"
  | "dns"
  | "connect"
  | "tls"
  | "http"
  | "status"
  | "regex"
  | "body";

/** The error of a failed check. */
export interface CheckError {
  kind: ErrorKind;
  message: string;
}

/** One check, as published (schema v1). Times are ISO 8601 UTC; durations are milliseconds. */
export interface CheckResult {
  v: 1;
  check_id: string;
  target_id: string;
  name: string;
  url: string;
  method: string;
  location: string;
  monitor: string;
  scheduled_at: string;
  started_at: string;
  /** Status of the last response, null when none arrived. */
  status: number | null;
  dns_ms: number | null;
  connect_ms: number | null;
  tls_ms: number | null;
  ttfb_ms: number | null;
  total_ms: number;
  /** Body bytes read from the wire (before decoding). */
  bytes: number;
  redirects: number;
  /** The URL of the last response, when redirects were followed. */
  final_url: string;
  regex_match: boolean | null;
  tls_expires_at: string | null;
  ok: boolean;
  error: CheckError | null;
}

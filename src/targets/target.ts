/**
 * The Target type: one validated line of a targets file.
 *
 * @module
 */

/** HTTP methods a target may use. */
export type TargetMethod = "GET" | "HEAD";

/** An inclusive range of accepted status codes. */
export interface StatusRange {
  from: number;
  to: number;
}

/** A validated target, ready to schedule. */
export interface Target {
  /** Stable id: the Kafka message key (see targetId). */
  id: string;
  name: string;
  url: string;
  method: TargetMethod;
  /** The regex source, or null when the body is not checked. */
  regex: string | null;
  intervalMs: number;
  timeoutMs: number;
  /** Accepted status codes. */
  expect: StatusRange[];
  /** Where the target was defined, for messages. */
  source: { file: string; line: number };
}

/**
 * A result sink that writes NDJSON, one result per line (for `--stdout`).
 *
 * @module
 */
import type { ResultSink } from "./run_monitor.ts";

/** A sink writing each result as one JSON line through `write`. */
export function createStdoutSink(write: (line: string) => void): ResultSink {
  return {
    publish(result) {
      write(`${JSON.stringify(result)}\n`);
    },
    close() {
      return Promise.resolve(0);
    },
  };
}

/**
 * Maps an error that reached an entrypoint to the line it prints and the exit code it returns.
 *
 * @module
 */
import { UsageError } from "./usage_error.ts";

/** Exit code for bad arguments or input files. */
export const EXIT_USAGE = 2;
/** Exit code for a failure at run time. */
export const EXIT_FAILURE = 1;

/** The `error: ...` line and the exit code for an error: 2 for usage errors, 1 otherwise. */
export function formatCliError(error: unknown): { line: string; code: number } {
  if (error instanceof UsageError) return { line: `error: ${error.message}`, code: EXIT_USAGE };
  // parseArgs throws TypeErrors with these codes for unknown or malformed flags.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
    return { line: `error: ${(error as Error).message}`, code: EXIT_USAGE };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { line: `error: ${message}`, code: EXIT_FAILURE };
}

/**
 * availability-writer: consumes check results from Kafka into date-partitioned PostgreSQL tables.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { EXIT_USAGE, formatCliError } from "./cli/format_cli_error.ts";
import { UsageError } from "./cli/usage_error.ts";
import { VERSION } from "./version.ts";

/** The `--help` text. */
export const HELP = `availability-writer ${VERSION}
Consumes check results from Kafka into date-partitioned PostgreSQL tables.

Usage:
  availability-writer --db-uri URI [options]

Options:
      --db-uri URI   PostgreSQL connection URI (env POSTGRES_URI or DATABASE_URL)
  -h, --help         Show this help and exit
  -V, --version      Print the version and exit

Exit codes: 0 success, 1 runtime failure, 2 bad arguments.
`;

/** Runs the program with its arguments and environment and returns the exit code. */
export function main(args: string[], env: Record<string, string | undefined>): number {
  try {
    const { values } = parseArgs({
      args,
      options: {
        "db-uri": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
    if (values.help) {
      console.log(HELP.trimEnd());
      return 0;
    }
    if (values.version) {
      console.log(`availability-writer ${VERSION}`);
      return 0;
    }
    const dbUri = values["db-uri"] ?? env.POSTGRES_URI ?? env.DATABASE_URL;
    if (!dbUri) throw new UsageError("missing --db-uri (or POSTGRES_URI, DATABASE_URL)");
    console.error("error: consuming results is not implemented yet");
    return EXIT_USAGE;
  } catch (error) {
    const { line, code } = formatCliError(error);
    console.error(line);
    return code;
  }
}

if (import.meta.main) {
  Deno.exit(main(Deno.args, {
    POSTGRES_URI: Deno.env.get("POSTGRES_URI"),
    DATABASE_URL: Deno.env.get("DATABASE_URL"),
  }));
}

/**
 * availability-monitor: checks the targets of a TSV file on their schedules and publishes every
 * result to Kafka.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { EXIT_USAGE, formatCliError } from "./cli/format_cli_error.ts";
import { UsageError } from "./cli/usage_error.ts";
import { VERSION } from "./version.ts";

/** The `--help` text. */
export const HELP = `availability-monitor ${VERSION}
Checks HTTP targets on a schedule and publishes every result to Kafka.

Usage:
  availability-monitor [options] TARGETS.tsv

Options:
  -h, --help      Show this help and exit
  -V, --version   Print the version and exit

Exit codes: 0 success, 1 runtime failure, 2 bad arguments or bad targets file.
`;

/** Runs the program with its arguments and returns the exit code. */
export function main(args: string[]): number {
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
    });
    if (values.help) {
      console.log(HELP.trimEnd());
      return 0;
    }
    if (values.version) {
      console.log(`availability-monitor ${VERSION}`);
      return 0;
    }
    if (positionals.length !== 1) {
      throw new UsageError("expected exactly one targets file, see --help");
    }
    console.error("error: checking targets is not implemented yet");
    return EXIT_USAGE;
  } catch (error) {
    const { line, code } = formatCliError(error);
    console.error(line);
    return code;
  }
}

if (import.meta.main) Deno.exit(main(Deno.args));

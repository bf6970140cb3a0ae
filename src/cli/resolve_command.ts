/**
 * The start of both entrypoints: parse the command line, answer --help and --version, report a
 * usage error, or hand back the config to run with.
 *
 * @module
 */
import { formatCliError } from "./format_cli_error.ts";

/** What a command line asks for. */
export type Command<C> = { kind: "run"; config: C } | { kind: "help" } | { kind: "version" };

/** Parses with `parse`; prints help, the version or the error and returns an exit code, or the config. */
export function resolveCommand<C>(
  program: { name: string; version: string; help: string },
  parse: () => Command<C>,
): { config: C } | { exit: number } {
  let command: Command<C>;
  try {
    command = parse();
  } catch (error) {
    const { line, code } = formatCliError(error);
    console.error(line);
    return { exit: code };
  }
  if (command.kind === "help") {
    console.log(program.help.trimEnd());
    return { exit: 0 };
  }
  if (command.kind === "version") {
    console.log(`${program.name} ${program.version}`);
    return { exit: 0 };
  }
  return { config: command.config };
}

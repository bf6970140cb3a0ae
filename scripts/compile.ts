/**
 * Compiles both entrypoints into standalone binaries in dist/, with exactly the permissions and V8
 * flags of their `deno task monitor` and `deno task writer` commands (read from deno.json, so the
 * two cannot drift apart).
 *
 * `deno compile` needs its runtime binary (denort): it downloads it, or takes the file that the
 * DENORT_BIN environment variable names.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The binaries this script builds: output name, entrypoint, and the task whose flags they take. */
export const BINARIES = [
  {
    output: "dist/availability-monitor",
    entrypoint: "src/monitor.ts",
    task: "monitor",
    // Loaded with new Worker(), which deno compile cannot see by itself.
    include: ["src/check/regex_worker.ts"],
  },
  { output: "dist/availability-writer", entrypoint: "src/writer.ts", task: "writer", include: [] },
] as const;

/**
 * The runtime flags of a task command in deno.json: its `--allow-*` permissions and its
 * `--v8-flags` (the monitor keeps V8's young generation small, which bounds its memory).
 */
export function taskFlags(task: "monitor" | "writer" | "status"): string[] {
  const entry: string | { command: string } = denoJson.tasks[task];
  const command = typeof entry === "string" ? entry : entry.command;
  const words = command.split(/\s+/);
  const flags = words.filter((word) =>
    word.startsWith("--allow-") || word.startsWith("--v8-flags=")
  );
  if (!flags.some((flag) => flag.startsWith("--allow-"))) {
    throw new Error(`deno.json task "${task}" grants no permissions`);
  }
  return flags;
}

async function compile(): Promise<number> {
  const root = new URL("..", import.meta.url).pathname;
  for (const { output, entrypoint, task, include } of BINARIES) {
    const includes = include.flatMap((file) => ["--include", file]);
    const args = [
      "compile",
      "--quiet",
      ...taskFlags(task),
      ...includes,
      "--output",
      output,
      entrypoint,
    ];
    console.log(`deno ${args.join(" ")}`);
    const { code } = await new Deno.Command(Deno.execPath(), { args, cwd: root }).spawn().status;
    if (code !== 0) {
      console.error(
        `error: deno compile of ${entrypoint} failed (exit ${code}); without internet access, ` +
          `set DENORT_BIN to a denort ${Deno.version.deno} binary`,
      );
      return 1;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await compile());

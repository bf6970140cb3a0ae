/**
 * Reads, parses and shards the targets file.
 *
 * @module
 */
import { type ParsedTargets, parseTsv } from "../targets/parse_tsv.ts";
import type { Target } from "../targets/target.ts";

/** Whether a target belongs to shard `index` of `count` (by its id, so stable everywhere). */
export function inShard(target: Target, shard: { index: number; count: number } | null): boolean {
  if (shard === null) return true;
  return Number.parseInt(target.id.slice(0, 8), 16) % shard.count === shard.index;
}

/** The file's targets of this shard, or every problem found (a read failure is one, at line 1). */
export async function loadTargets(
  file: string,
  shard: { index: number; count: number } | null,
  readTextFile: (path: string) => Promise<string>,
): Promise<ParsedTargets> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    return {
      targets: [],
      errors: [{ file, line: 1, column: 1, message: `cannot read the file: ${reason}` }],
    };
  }
  const parsed = parseTsv(text, file);
  return {
    targets: parsed.targets.filter((target) => inShard(target, shard)),
    errors: parsed.errors,
  };
}

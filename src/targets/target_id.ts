/**
 * Stable target ids, the same across restarts and machines.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * The id of a target: the first 16 hex digits of SHA-256 over its explicit name, or, for a target
 * without one, over its method, URL and regex. Renaming a named target changes its id; editing the
 * URL of a named target keeps it.
 */
export function targetId(
  parts: { name: string | null; method: string; url: string; regex: string | null },
): string {
  const basis = parts.name !== null
    ? `name\n${parts.name}`
    : `target\n${parts.method}\n${parts.url}\n${parts.regex ?? ""}`;
  return createHash("sha256").update(basis).digest("hex").slice(0, 16);
}

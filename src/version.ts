/**
 * The release version, read from deno.json so there is one place to bump it.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The version both programs print for `--version` and stamp on their output. */
export const VERSION: string = denoJson.version;

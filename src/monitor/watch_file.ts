/**
 * Calls back when a file changes, debounced; watches its folder so that editors that save by
 * writing a new file and renaming it over the old one are noticed too.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";

/** Watches `path` until `signal` aborts, calling `onChange` at most once per `debounceMs`. */
export async function watchFile(
  path: string,
  onChange: () => void,
  signal: AbortSignal,
  debounceMs = 300,
): Promise<void> {
  const target = resolve(path);
  const watcher = Deno.watchFs(dirname(target), { recursive: false });
  signal.addEventListener("abort", () => watcher.close(), { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    for await (const event of watcher) {
      if (!event.paths.some((p) => resolve(p) === target || basename(p) === basename(target))) {
        continue;
      }
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
}

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * Worker side of RegexRunner: tests a regex against a text and answers. Runs in its own thread so
 * that catastrophic backtracking stalls only this worker, which the runner then terminates.
 *
 * @module
 */

interface Job {
  id: number;
  source: string;
  text: string;
}

const compiled = new Map<string, RegExp>();

self.onmessage = (event: MessageEvent<Job>) => {
  const { id, source, text } = event.data;
  let regex = compiled.get(source);
  if (!regex) {
    regex = new RegExp(source);
    compiled.set(source, regex);
  }
  self.postMessage({ id, match: regex.test(text) });
};

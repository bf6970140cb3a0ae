/**
 * Runs target regexes off the main thread with a time limit. A regex like `(a+)+$` against a long
 * body can backtrack for minutes; on the main thread that would freeze every other check and the
 * schedule. Here it only occupies a worker, which is terminated (and replaced) when the check's
 * time runs out.
 *
 * @module
 */

/** The outcome of a regex test: a match or not, or no answer in time. */
export type RegexOutcome = boolean | "timeout";

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Job {
  source: string;
  text: string;
  timeoutMs: number;
  resolve: (outcome: RegexOutcome) => void;
}

const WORKER_URL = new URL("./regex_worker.ts", import.meta.url).href;

/** A small pool of regex workers (see the module comment). */
export class RegexRunner {
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #nextId = 0;
  #size: number;
  #closed = false;

  constructor(size = 2) {
    this.#size = size;
  }

  /** Tests `source` against `text`, answering "timeout" when it takes longer than `timeoutMs`. */
  test(source: string, text: string, timeoutMs: number): Promise<RegexOutcome> {
    if (this.#closed) return Promise.reject(new Error("RegexRunner is closed"));
    if (timeoutMs <= 0) return Promise.resolve("timeout");
    return new Promise((resolve) => {
      this.#queue.push({ source, text, timeoutMs, resolve });
      this.#dispatch();
    });
  }

  /** Terminates the workers. */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots) slot.worker.terminate();
    this.#slots = [];
    for (const job of this.#queue.splice(0)) job.resolve("timeout");
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => !s.busy);
      if (!slot && this.#slots.length < this.#size) {
        slot = { worker: new Worker(WORKER_URL, { type: "module" }), busy: false };
        this.#slots.push(slot);
      }
      if (!slot) return;
      this.#run(slot, this.#queue.shift()!);
    }
  }

  #run(slot: Slot, job: Job): void {
    slot.busy = true;
    const id = this.#nextId++;
    const started = performance.now();
    const finish = (outcome: RegexOutcome) => {
      clearTimeout(timer);
      slot.worker.removeEventListener("message", onMessage);
      slot.busy = false;
      job.resolve(outcome);
      this.#dispatch();
    };
    const onMessage = (event: MessageEvent<{ id: number; match: boolean }>) => {
      if (event.data.id === id) finish(event.data.match);
    };
    // Time spent waiting in the queue counts against the job's budget too.
    const timer = setTimeout(() => {
      // The worker is stuck in the regex: replace it.
      slot.worker.terminate();
      slot.worker = new Worker(WORKER_URL, { type: "module" });
      finish("timeout");
    }, Math.max(0, job.timeoutMs - (performance.now() - started)));
    slot.worker.addEventListener("message", onMessage);
    slot.worker.postMessage({ id, source: job.source, text: job.text });
  }
}

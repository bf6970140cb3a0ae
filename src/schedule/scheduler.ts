/**
 * When each target is checked: every target on its own interval, its slots at a fixed phase inside
 * the interval taken from its id (the same slots after a restart, no thundering herd at start), the
 * next slot always computed from the schedule rather than from when the last check ended (no
 * drift), a global cap on checks in flight, and never two checks of one target at once.
 *
 * Pure logic: time comes in as arguments to `tick`, so tests drive it with a fake clock.
 *
 * @module
 */
import type { Target } from "../targets/target.ts";

/** One check the scheduler wants run. */
export interface ScheduledCheck {
  target: Target;
  /** The slot the schedule planned, in Unix milliseconds. */
  scheduledAt: number;
}

/** Counters of what the scheduler did. */
export interface SchedulerStats {
  started: number;
  /** Slots not run because the previous check of the same target was still running or waiting. */
  skipped: number;
}

interface Entry {
  target: Target;
  generation: number;
  nextAt: number;
}

/** The first slot at or after `now` for a target: epoch-aligned, at a phase from its id. */
export function firstSlot(target: Target, now: number): number {
  const phase = Number.parseInt(target.id.slice(0, 12), 16) % target.intervalMs;
  const cycleStart = now - (now % target.intervalMs);
  const slot = cycleStart + phase;
  return slot >= now ? slot : slot + target.intervalMs;
}

/** Schedules checks (see the module comment); `run` starts one and settles when it is done. */
export class Scheduler {
  readonly stats: SchedulerStats = { started: 0, skipped: 0 };
  #run: (check: ScheduledCheck) => Promise<void>;
  #maxInFlight: number;
  #entries = new Map<string, Entry>();
  #heap: { id: string; generation: number; at: number }[] = [];
  #queue: ScheduledCheck[] = [];
  #busy = new Set<string>();
  #inFlight = 0;
  #generation = 0;
  #idle: (() => void)[] = [];
  #onSlotFree: () => void;

  constructor(
    run: (check: ScheduledCheck) => Promise<void>,
    options: { maxInFlight: number; onSlotFree?: () => void },
  ) {
    this.#run = run;
    this.#maxInFlight = options.maxInFlight;
    this.#onSlotFree = options.onSlotFree ?? (() => {});
  }

  /** Checks running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Checks due but waiting for a free slot under the cap. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Targets on the schedule. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Replaces the target list: new targets are scheduled, removed ones stop (a running check
   * finishes), changed ones restart from their first slot. Returns what changed.
   */
  setTargets(
    targets: readonly Target[],
    now: number,
  ): { added: number; removed: number; changed: number } {
    const counts = { added: 0, removed: 0, changed: 0 };
    const next = new Map(targets.map((target) => [target.id, target]));
    for (const id of this.#entries.keys()) {
      if (!next.has(id)) {
        this.#entries.delete(id);
        counts.removed++;
      }
    }
    this.#queue = this.#queue.filter((check) => {
      const keep = sameTarget(next.get(check.target.id), check.target);
      if (!keep) this.#busy.delete(check.target.id);
      return keep;
    });
    for (const target of targets) {
      const entry = this.#entries.get(target.id);
      if (entry && sameTarget(entry.target, target)) {
        entry.target = target;
        continue;
      }
      if (entry) counts.changed++;
      else counts.added++;
      const fresh = { target, generation: ++this.#generation, nextAt: firstSlot(target, now) };
      this.#entries.set(target.id, fresh);
      this.#push(fresh);
    }
    return counts;
  }

  /** Starts what is due at `now` (within the cap) and returns when the next slot is. */
  tick(now: number): number {
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const top = this.#pop();
      const entry = this.#entries.get(top.id);
      if (!entry || entry.generation !== top.generation) continue;
      if (this.#busy.has(entry.target.id)) {
        this.stats.skipped++;
      } else {
        this.#busy.add(entry.target.id);
        this.#queue.push({ target: entry.target, scheduledAt: entry.nextAt });
      }
      // Slots missed while the process was stalled are skipped, never run in a burst.
      const interval = entry.target.intervalMs;
      const missed = Math.floor((now - entry.nextAt) / interval);
      if (missed > 0) this.stats.skipped += missed;
      entry.nextAt += interval * (missed + 1);
      this.#push(entry);
    }
    this.#startWaiting();
    return this.nextSlot();
  }

  /** The earliest planned slot, or Infinity without targets. */
  nextSlot(): number {
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!;
      const entry = this.#entries.get(top.id);
      if (entry && entry.generation === top.generation) return top.at;
      this.#pop();
    }
    return Infinity;
  }

  /** Settles when no check is running or waiting. */
  drained(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Forgets waiting checks (on shutdown); running ones finish. */
  clearWaiting(): void {
    for (const check of this.#queue) this.#busy.delete(check.target.id);
    this.#queue = [];
    this.#maybeIdle();
  }

  #startWaiting(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const check = this.#queue.shift()!;
      this.#inFlight++;
      this.stats.started++;
      this.#run(check).catch(() => {}).finally(() => {
        this.#inFlight--;
        this.#busy.delete(check.target.id);
        this.#startWaiting();
        this.#onSlotFree();
        this.#maybeIdle();
      });
    }
  }

  #maybeIdle(): void {
    if (this.#inFlight === 0 && this.#queue.length === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push({ id: entry.target.id, generation: entry.generation, at: entry.nextAt });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= heap[i]!.at) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  #pop(): { id: string; generation: number; at: number } {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      while (true) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && heap[left]!.at < heap[smallest]!.at) smallest = left;
        if (right < heap.length && heap[right]!.at < heap[smallest]!.at) smallest = right;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
        i = smallest;
      }
    }
    return top;
  }
}

function sameTarget(a: Target | undefined, b: Target): boolean {
  if (!a) return false;
  return a.url === b.url && a.method === b.method && a.regex === b.regex && a.name === b.name &&
    a.intervalMs === b.intervalMs && a.timeoutMs === b.timeoutMs &&
    JSON.stringify(a.expect) === JSON.stringify(b.expect);
}

import assert from "node:assert/strict";
import { firstSlot, type ScheduledCheck, Scheduler } from "../../src/schedule/scheduler.ts";
import type { Target } from "../../src/targets/target.ts";
import { targetId } from "../../src/targets/target_id.ts";

function target(n: number, intervalMs = 60_000): Target {
  const url = `https://site-${n}.example/`;
  return {
    id: targetId({ name: null, method: "GET", url, regex: null }),
    name: url,
    url,
    method: "GET",
    regex: null,
    intervalMs,
    timeoutMs: 5_000,
    expect: [{ from: 200, to: 399 }],
    source: { file: "t.tsv", line: n },
  };
}

/** A run function whose checks finish only when the test says so. */
function controlledRuns() {
  const started: ScheduledCheck[] = [];
  const finishers = new Map<ScheduledCheck, () => void>();
  const run = (check: ScheduledCheck) =>
    new Promise<void>((resolve) => {
      started.push(check);
      finishers.set(check, resolve);
    });
  const finishAll = async () => {
    for (const [check, finish] of finishers) {
      finishers.delete(check);
      finish();
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  return { started, run, finishAll, finishers };
}

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

Deno.test("firstSlot() spreads targets over their interval and gives the same slots after a restart", () => {
  const targets = Array.from({ length: 200 }, (_, i) => target(i));
  const slots = targets.map((t) => firstSlot(t, T0 + 1234));
  for (const slot of slots) assert.ok(slot >= T0 + 1234 && slot < T0 + 1234 + 60_000);
  // A restart 17 minutes and 3 s later lands every target on its old grid.
  const later = T0 + 17 * 60_000 + 3_000;
  targets.forEach((t, i) => {
    const slot = firstSlot(t, later);
    assert.equal((slot - slots[i]!) % 60_000, 0, "the slot moved after a restart");
  });
  // No thundering herd: 200 targets use many distinct seconds of the minute.
  const seconds = new Set(slots.map((s) => Math.floor((s % 60_000) / 1000)));
  assert.ok(seconds.size > 40, `only ${seconds.size} distinct seconds`);
});

Deno.test("Scheduler runs each target on its own grid with no drift over many intervals", async () => {
  const runs = controlledRuns();
  const scheduler = new Scheduler(runs.run, { maxInFlight: 100 });
  const targets = [target(1, 10_000), target(2, 30_000), target(3, 7_000)];
  scheduler.setTargets(targets, T0);
  const firsts = targets.map((t) => firstSlot(t, T0));
  // Tick late by a varying amount, and let checks take a varying time, for an hour.
  let now = T0;
  let jitter = 0;
  while (now < T0 + 3_600_000) {
    const next = scheduler.tick(now);
    await runs.finishAll();
    jitter = (jitter + 137) % 900;
    now = Math.max(now + 1, next + jitter);
  }
  for (const [i, t] of targets.entries()) {
    const slots = runs.started.filter((c) => c.target.id === t.id).map((c) => c.scheduledAt);
    assert.ok(slots.length >= Math.floor(3_600_000 / t.intervalMs) - 1, `${slots.length} runs`);
    slots.forEach((slot, k) =>
      assert.equal(slot, firsts[i]! + k * t.intervalMs, "the schedule drifted")
    );
  }
  assert.equal(scheduler.stats.skipped, 0);
});

Deno.test("Scheduler keeps at most maxInFlight checks running and starts waiting ones as slots free", async () => {
  const runs = controlledRuns();
  const scheduler = new Scheduler(runs.run, { maxInFlight: 3 });
  const targets = Array.from({ length: 10 }, (_, i) => target(i));
  scheduler.setTargets(targets, T0);
  scheduler.tick(T0 + 60_000);
  assert.equal(runs.started.length, 3);
  assert.equal(scheduler.inFlight, 3);
  assert.equal(scheduler.waiting, 7);
  const [first] = runs.finishers.values();
  first!();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(runs.started.length, 4, "a freed slot starts the next waiting check");
  assert.equal(scheduler.inFlight, 3);
  while (runs.started.length < 10) await runs.finishAll();
  await runs.finishAll();
  await scheduler.drained();
  assert.equal(scheduler.inFlight, 0);
  // Waiting checks keep their planned slot, so their lag shows.
  const planned = new Set(targets.map((t) => firstSlot(t, T0)));
  for (const check of runs.started) assert.ok(planned.has(check.scheduledAt));
});

Deno.test("Scheduler never starts a target twice: a slot that comes while it runs is skipped", async () => {
  const runs = controlledRuns();
  const scheduler = new Scheduler(runs.run, { maxInFlight: 10 });
  const slow = target(1, 10_000);
  scheduler.setTargets([slow], T0);
  const first = firstSlot(slow, T0);
  scheduler.tick(first);
  scheduler.tick(first + 10_000); // the check from the first slot is still running
  assert.equal(runs.started.length, 1);
  assert.equal(scheduler.stats.skipped, 1);
  await runs.finishAll();
  scheduler.tick(first + 20_000);
  assert.equal(runs.started.length, 2);
  assert.equal(runs.started[1]!.scheduledAt, first + 20_000);
});

Deno.test("Scheduler skips slots missed during a stall instead of running them in a burst", () => {
  const runs = controlledRuns();
  const scheduler = new Scheduler(runs.run, { maxInFlight: 10 });
  const t = target(1, 10_000);
  scheduler.setTargets([t], T0);
  const first = firstSlot(t, T0);
  const next = scheduler.tick(first + 45_000);
  assert.equal(runs.started.length, 1);
  assert.equal(runs.started[0]!.scheduledAt, first);
  assert.equal(scheduler.stats.skipped, 4);
  assert.equal(next, first + 50_000);
});

Deno.test("Scheduler.setTargets() starts new targets, stops removed ones and restarts changed ones", async () => {
  const runs = controlledRuns();
  const scheduler = new Scheduler(runs.run, { maxInFlight: 10 });
  const [a, b, c] = [target(1, 10_000), target(2, 10_000), target(3, 10_000)];
  assert.deepEqual(scheduler.setTargets([a!, b!], T0), { added: 2, removed: 0, changed: 0 });
  const changedB = { ...b!, timeoutMs: 1_000 };
  assert.deepEqual(scheduler.setTargets([changedB, c!], T0 + 1), {
    added: 1,
    removed: 1,
    changed: 1,
  });
  assert.equal(scheduler.size, 2);
  for (let now = T0; now < T0 + 60_000; now += 1_000) {
    scheduler.tick(now);
    await runs.finishAll();
  }
  const ids = new Set(runs.started.map((check) => check.target.id));
  assert.ok(!ids.has(a!.id), "a removed target was still checked");
  assert.ok(ids.has(b!.id) && ids.has(c!.id));
  assert.ok(
    runs.started.filter((check) => check.target.id === b!.id).every((check) =>
      check.target.timeoutMs === 1_000
    ),
  );
  assert.deepEqual(scheduler.setTargets([changedB, c!], T0), { added: 0, removed: 0, changed: 0 });
});

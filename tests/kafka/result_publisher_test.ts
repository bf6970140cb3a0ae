import assert from "node:assert/strict";
import { type KeyedMessage, ResultPublisher } from "../../src/kafka/result_publisher.ts";
import { createLogger } from "../../src/log/logger.ts";

function quietLogger(lines: string[] = []) {
  return createLogger({ level: "debug", json: true, write: (line) => lines.push(line) });
}

const message = (n: number): KeyedMessage => ({ key: `k${n % 3}`, value: `${n}` });

Deno.test("ResultPublisher sends many results per request, in publish order", async () => {
  const batches: KeyedMessage[][] = [];
  const publisher = new ResultPublisher(
    {
      send: (_topic, messages) => {
        batches.push(messages);
        return Promise.resolve();
      },
    },
    { topic: "t", maxBuffered: 10_000, batchSize: 100, lingerMs: 5 },
    quietLogger(),
  );
  for (let i = 0; i < 250; i++) publisher.publish(message(i));
  assert.equal(await publisher.close(5_000), 0);
  assert.ok(batches.length <= 4, `${batches.length} sends for 250 results`);
  assert.ok(batches.every((batch) => batch.length <= 100));
  assert.deepEqual(
    batches.flat().map((m) => Number(m.value)),
    Array.from({ length: 250 }, (_, i) => i),
  );
  assert.equal(publisher.stats.sent, 250);
});

Deno.test("ResultPublisher keeps results through an outage, retries with backoff and delivers them in order", async () => {
  let down = true;
  let attempts = 0;
  const delivered: KeyedMessage[] = [];
  const lines: string[] = [];
  const publisher = new ResultPublisher({
    send: (_topic, messages) => {
      attempts++;
      if (down) return Promise.reject(new Error("broker unreachable"));
      delivered.push(...messages);
      return Promise.resolve();
    },
  }, {
    topic: "t",
    maxBuffered: 1_000,
    batchSize: 50,
    lingerMs: 1,
    initialBackoffMs: 5,
    maxBackoffMs: 20,
  }, quietLogger(lines));
  for (let i = 0; i < 120; i++) publisher.publish(message(i));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(attempts >= 3, `only ${attempts} attempts during the outage`);
  assert.equal(delivered.length, 0);
  down = false;
  assert.equal(await publisher.close(5_000), 0);
  assert.deepEqual(delivered.map((m) => Number(m.value)), Array.from({ length: 120 }, (_, i) => i));
  assert.equal(publisher.stats.dropped, 0);
  assert.ok(lines.some((line) => line.includes("sending results to Kafka failed; retrying")));
  assert.ok(lines.some((line) => line.includes("Kafka is reachable again")));
});

Deno.test("ResultPublisher drops the oldest results beyond its bound, counts and logs each drop", async () => {
  let down = true;
  const delivered: KeyedMessage[] = [];
  const lines: string[] = [];
  const publisher = new ResultPublisher({
    send: (_topic, messages) => {
      if (down) return Promise.reject(new Error("broker unreachable"));
      delivered.push(...messages);
      return Promise.resolve();
    },
  }, {
    topic: "t",
    maxBuffered: 10,
    batchSize: 4,
    lingerMs: 1,
    initialBackoffMs: 5,
    maxBackoffMs: 5,
  }, quietLogger(lines));
  for (let i = 0; i < 25; i++) {
    publisher.publish(message(i));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  down = false;
  assert.equal(await publisher.close(5_000), 0);
  assert.equal(publisher.stats.dropped + delivered.length, 25);
  assert.equal(publisher.stats.dropped, 15);
  // What survives is the newest, in order.
  assert.deepEqual(
    delivered.map((m) => Number(m.value)),
    Array.from({ length: 10 }, (_, i) => 15 + i),
  );
  assert.ok(lines.some((line) => line.includes("dropped")));
});

Deno.test("ResultPublisher.close() gives up after its timeout and reports what was not delivered", async () => {
  const publisher = new ResultPublisher({ send: () => Promise.reject(new Error("down")) }, {
    topic: "t",
    maxBuffered: 100,
    batchSize: 10,
    lingerMs: 1,
    initialBackoffMs: 5,
    maxBackoffMs: 5,
  }, quietLogger());
  for (let i = 0; i < 7; i++) publisher.publish(message(i));
  const started = performance.now();
  assert.equal(await publisher.close(200), 7);
  assert.ok(performance.now() - started < 1_000);
});

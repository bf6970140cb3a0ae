/**
 * Proof that kafkajs works under Deno against the real broker from `deno task services up`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { KAFKA_BROKERS, uniqueName } from "./_helpers.ts";

const MESSAGES = 1_000;
const KEYS = 10;

Deno.test({
  name: "kafkajs delivers 1,000 messages from an idempotent producer once each, in order per key",
  // kafkajs keeps internal timers (request timeouts, heartbeats) past disconnect.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const kafka = new Kafka({
      clientId: "foundation-test",
      brokers: KAFKA_BROKERS,
      logLevel: logLevel.ERROR,
    });
    const topic = uniqueName("foundation");
    const admin = kafka.admin();
    await admin.connect();
    try {
      const created = await admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      assert.equal(created, true, `topic ${topic} was not created`);

      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      const sent = Array.from({ length: MESSAGES }, (_, i) => ({
        key: `key-${i % KEYS}`,
        value: JSON.stringify({ key: `key-${i % KEYS}`, seq: Math.floor(i / KEYS) }),
      }));
      // Several batches, so ordering holds across sends and not only within one.
      for (let i = 0; i < sent.length; i += 100) {
        await producer.send({ topic, acks: -1, messages: sent.slice(i, i + 100) });
      }
      await producer.disconnect();

      const received: { key: string; seq: number; partition: number }[] = [];
      const consumer = kafka.consumer({ groupId: uniqueName("foundation-group") });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let allArrived!: () => void;
      const arrived = new Promise<void>((resolve) => (allArrived = resolve));
      await consumer.run({
        eachMessage: ({ message, partition }) => {
          const body = JSON.parse(message.value!.toString());
          assert.equal(message.key!.toString(), body.key);
          received.push({ key: body.key, seq: body.seq, partition });
          if (received.length === MESSAGES) allArrived();
          return Promise.resolve();
        },
      });
      const timeout = setTimeout(() => allArrived(), 60_000);
      await arrived;
      clearTimeout(timeout);
      // Give duplicates, if any, a moment to show up before counting.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await consumer.disconnect();

      assert.equal(
        received.length,
        MESSAGES,
        `received ${received.length} of ${MESSAGES} messages`,
      );
      const byKey = Map.groupBy(received, (m) => m.key);
      assert.equal(byKey.size, KEYS);
      for (const [key, messages] of byKey) {
        assert.deepEqual(
          messages.map((m) => m.seq),
          Array.from({ length: MESSAGES / KEYS }, (_, i) => i),
          `messages of ${key} arrived out of order or more than once`,
        );
        assert.equal(new Set(messages.map((m) => m.partition)).size, 1, `${key} spans partitions`);
      }
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  },
});

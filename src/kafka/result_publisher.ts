/**
 * Delivers check results to Kafka in batches, through outages.
 *
 * kafkajs sends what it is given at once, so results are gathered here and sent many per request.
 * While Kafka is unreachable results wait in a bounded buffer and sending is retried with
 * exponential backoff; when the buffer is full the oldest result is dropped, counted and logged.
 * One send is in flight at a time, so the results of a target stay in order.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";

/** A Kafka message. */
export interface KeyedMessage {
  key: string;
  value: string;
}

/** The part of a kafkajs producer the publisher uses. */
export interface MessageSender {
  send(topic: string, messages: KeyedMessage[]): Promise<void>;
}

/** Publisher settings. */
export interface PublisherOptions {
  topic: string;
  /** Most results held while Kafka is slow or away; beyond it the oldest are dropped. */
  maxBuffered: number;
  /** Most messages per send. */
  batchSize: number;
  /** How long to wait for a batch to fill before sending a partial one. */
  lingerMs: number;
  /** First retry delay after a failed send; doubles up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Counters of what the publisher did. */
export interface PublisherStats {
  sent: number;
  dropped: number;
  failedSends: number;
}

/** The publisher (see the module comment). */
export class ResultPublisher {
  readonly stats: PublisherStats = { sent: 0, dropped: 0, failedSends: 0 };
  #sender: MessageSender;
  #options: Required<PublisherOptions>;
  #logger: Logger;
  #buffer: KeyedMessage[] = [];
  #lastError: string | null = null;
  #head = 0;
  #sending = false;
  // Ends the idle wait when a message arrives.
  #onData: (() => void) | undefined;
  // Cuts a linger or backoff wait short on flush or close.
  #onUrgent: (() => void) | undefined;
  #closing = false;
  #loop: Promise<void>;
  #flushed: (() => void)[] = [];

  constructor(sender: MessageSender, options: PublisherOptions, logger: Logger) {
    this.#sender = sender;
    this.#options = { initialBackoffMs: 250, maxBackoffMs: 30_000, ...options };
    this.#logger = logger;
    this.#loop = this.#run();
  }

  /** Results waiting to be sent (not counting a send in flight). */
  /** Why the latest send failed, or null while sends succeed (or none was tried yet). */
  get lastError(): string | null {
    return this.#lastError;
  }

  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  /** Queues one message; never blocks. */
  publish(message: KeyedMessage): void {
    if (this.#closing) throw new Error("publish() after close()");
    this.#buffer.push(message);
    if (this.buffered > this.#options.maxBuffered) {
      this.#head++;
      this.stats.dropped++;
      this.#logger.warn("result dropped: buffer full while Kafka is unavailable", {
        dropped_total: this.stats.dropped,
        buffered: this.buffered,
      });
    }
    this.#onData?.();
  }

  /** Settles when everything published so far was sent, or after `timeoutMs`; returns what is left. */
  async flush(timeoutMs: number): Promise<number> {
    if (this.buffered === 0 && !this.#sending) return 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = new Promise<void>((resolve) => this.#flushed.push(resolve));
    this.#onUrgent?.();
    await Promise.race([
      done,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.buffered;
  }

  /** Flushes (up to `timeoutMs`) and stops; returns the number of results not delivered. */
  async close(timeoutMs: number): Promise<number> {
    const left = await this.flush(timeoutMs);
    this.#closing = true;
    this.#onData?.();
    this.#onUrgent?.();
    if (left === 0) await this.#loop;
    return left;
  }

  async #run(): Promise<void> {
    let backoff = this.#options.initialBackoffMs;
    let failing = false;
    while (true) {
      if (this.buffered === 0) {
        for (const resolve of this.#flushed.splice(0)) resolve();
        if (this.#closing) return;
        await new Promise<void>((resolve) => (this.#onData = resolve));
        this.#onData = undefined;
        continue;
      }
      if (this.buffered < this.#options.batchSize && !this.#closing && this.#flushed.length === 0) {
        await this.#sleep(this.#options.lingerMs);
      }
      const batch = this.#take(this.#options.batchSize);
      this.#sending = true;
      try {
        await this.#sender.send(this.#options.topic, batch);
        this.stats.sent += batch.length;
        this.#lastError = null;
        if (failing) {
          this.#logger.info("Kafka is reachable again; delivering buffered results", {
            buffered: this.buffered,
          });
        }
        failing = false;
        backoff = this.#options.initialBackoffMs;
      } catch (error) {
        this.stats.failedSends++;
        this.#lastError = (error as Error).message;
        // Put the batch back in front, then trim to the bound (oldest first).
        this.#buffer = [...batch, ...this.#buffer.slice(this.#head)];
        this.#head = 0;
        const excess = this.buffered - this.#options.maxBuffered;
        if (excess > 0) {
          this.#head = excess;
          this.stats.dropped += excess;
          this.#logger.warn("results dropped: buffer full while Kafka is unavailable", {
            dropped: excess,
            dropped_total: this.stats.dropped,
          });
        }
        this.#logger.warn("sending results to Kafka failed; retrying", {
          error: (error as Error).message,
          retry_in_ms: backoff,
          buffered: this.buffered,
        });
        failing = true;
        if (this.#closing) return;
        await this.#sleep(backoff);
        backoff = Math.min(backoff * 2, this.#options.maxBackoffMs);
      } finally {
        this.#sending = false;
      }
    }
  }

  #take(count: number): KeyedMessage[] {
    const batch = this.#buffer.slice(this.#head, this.#head + count);
    this.#head += batch.length;
    // Compact now and then so the array does not grow without end.
    if (this.#head > 10_000 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#onUrgent === done) this.#onUrgent = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#onUrgent = done;
    });
  }
}

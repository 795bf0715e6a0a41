/**
 * Fakes for unit tests (never used by integration tests, which talk to a real broker).
 */
import pino from 'pino';
import type { ProducerBatch, RecordMetadata } from 'kafkajs';
import type { Envelope } from '../../lib/envelope';
import type { Health } from '../../lib/lifecycle';
import type { Logger } from '../../lib/logger';
import type { SendBatchPort } from '../../lib/kafka/batching-producer';
import type { Sink, StoredEvent } from '../../services/edge/sink';

export const silentLogger = (): Logger => pino({ level: 'silent' });

/** A `sendBatch` that records each request and acknowledges it when told to. */
export class FakeBroker implements SendBatchPort {
  readonly requests: ProducerBatch[] = [];
  private readonly offsets = new Map<string, number>();
  private readonly waiting: (() => void)[] = [];
  /** When false, requests wait until `release()`. */
  autoAck = true;
  failWith: Error | null = null;

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.requests.push(batch);
    if (!this.autoAck) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failWith) throw this.failWith;
    const result: RecordMetadata[] = [];
    for (const { topic, messages } of batch.topicMessages ?? []) {
      const perPartition = new Map<number, number>();
      for (const m of messages)
        perPartition.set(m.partition ?? 0, (perPartition.get(m.partition ?? 0) ?? 0) + 1);
      for (const [partition, count] of perPartition) {
        const key = `${topic}/${partition}`;
        const base = this.offsets.get(key) ?? 0;
        this.offsets.set(key, base + count);
        result.push({ topicName: topic, partition, errorCode: 0, baseOffset: String(base) });
      }
    }
    return result;
  }

  release(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  get recordCount(): number {
    return this.requests.reduce(
      (n, b) => n + (b.topicMessages ?? []).reduce((m, t) => m + t.messages.length, 0),
      0,
    );
  }
}

/** An in-memory sink: stores envelopes, or fails with the configured error. */
export class MemorySink implements Sink {
  readonly stored: Envelope[] = [];
  failWith: Error | null = null;
  healthy = true;

  store(envelopes: Envelope[]): Promise<StoredEvent[]> {
    if (this.failWith) return Promise.reject(this.failWith);
    const first = this.stored.length;
    this.stored.push(...envelopes);
    return Promise.resolve(
      envelopes.map((e, i) => ({ id: e.id, partition: 0, offset: String(first + i) })),
    );
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  health(): Health {
    return { ok: this.healthy };
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * An idempotent kafkajs producer that starts over with a new producer id after a failed
 * request.
 *
 * Why: when a produce request fails, kafkajs rolls the partitions' sequence numbers back,
 * even when the broker did write the batch (a timeout, or a connection a restarting broker
 * closed after the write). The next batch then reuses those sequence numbers, and the
 * broker, taking it for a duplicate of the batch it already has, acknowledges it without
 * writing it: an acknowledged record lost. The clean-broker-restart fault scenario found
 * exactly that (one event answered 202, absent from intake.raw). A new producer id has
 * no sequence history, so nothing sent after a failure can be mistaken for a duplicate;
 * what the failed request wrote is at worst written again (same event id, a duplicate).
 */
import type { Producer, ProducerBatch, ProducerRecord, RecordMetadata } from 'kafkajs';
import { assertAcknowledged } from './acknowledged';

type Listener = Parameters<Producer['on']>;

export class ResettableProducer {
  private producer: Producer;
  private readonly listeners: Listener[] = [];
  resets = 0;

  constructor(private readonly make: () => Producer) {
    this.producer = make();
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  on(...args: Listener): void {
    this.listeners.push(args);
    this.producer.on(...args);
  }

  /** For best-effort writes to topics of their own (replies, progress): no reset on failure. */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.producer.send(record);
  }

  /** Rejects when the answer leaves out a partition of the batch (see acknowledged.ts). */
  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const metadata = await this.producer.sendBatch(batch);
    assertAcknowledged(batch.topicMessages ?? [], metadata);
    return metadata;
  }

  /**
   * Replaces the producer with a new one (a new producer id). When Kafka is unreachable the
   * connect fails; the next send then fails too and resets again.
   */
  async reset(): Promise<void> {
    const old = this.producer;
    this.producer = this.make();
    this.resets += 1;
    for (const args of this.listeners) this.producer.on(...args);
    await old.disconnect().catch(() => undefined);
    await this.producer.connect();
  }
}

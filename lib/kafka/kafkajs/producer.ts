/**
 * The port's producer on kafkajs: idempotent, acks=all, one request in flight, and a new
 * producer id after a failed request (`reset()`).
 *
 * Why the reset: when a produce request fails, kafkajs rolls the partitions' sequence
 * numbers back, even when the broker did write the batch (a timeout, or a connection a
 * restarting broker closed after the write). The next batch then reuses those sequence
 * numbers, and the broker, taking it for a duplicate of the batch it already has,
 * acknowledges it without writing it: an acknowledged record lost. The
 * clean-broker-restart fault scenario found exactly that (one event answered 202, absent
 * from intake.raw). A new producer id has no sequence history, so nothing sent after a
 * failure can be mistaken for a duplicate; what the failed request wrote is at worst
 * written again (same event id, a duplicate).
 */
import type { Kafka, Producer as KafkajsProducer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { assertAcknowledged } from '../acknowledged';
import type { Ack, ProduceRequest, Producer } from '../port';
import { translated } from './errors';

/** acks=all: the value kafkajs expects for "all in-sync replicas". */
const ACKS_ALL = -1;

/** A kafkajs producer with the safety-critical settings applied after `overrides`. */
export function kafkajsProducer(
  kafka: Kafka,
  overrides: Parameters<Kafka['producer']>[0] = {},
): KafkajsProducer {
  return kafka.producer({
    ...overrides,
    // NOTE: idempotence needs at most one in-flight request per connection in kafkajs;
    // together they give exactly-once, in-order appends per partition across retries.
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** The port's request in kafkajs' shape (acks=all); its records are kafkajs messages as they are. */
export function toKafkajsBatch(request: ProduceRequest): ProducerBatch {
  return { acks: ACKS_ALL, timeout: request.timeoutMs, topicMessages: request.topicMessages };
}

/**
 * kafkajs' answer as the port's acks; one that leaves out a partition of the request is
 * a failure (acknowledged.ts).
 */
export function toAcks(request: ProduceRequest, metadata: RecordMetadata[]): Ack[] {
  const acks: Ack[] = [];
  for (const m of metadata) {
    if (m.errorCode === 0 && m.baseOffset !== undefined)
      acks.push({ topic: m.topicName, partition: m.partition, baseOffset: m.baseOffset });
  }
  assertAcknowledged(request.topicMessages, acks);
  return acks;
}

export class KafkajsProducerPort implements Producer {
  private producer: KafkajsProducer;
  resets = 0;

  constructor(private readonly make: () => KafkajsProducer) {
    this.producer = make();
  }

  connect(): Promise<void> {
    return translated('connecting the producer failed', () => this.producer.connect());
  }

  disconnect(): Promise<void> {
    return translated('disconnecting the producer failed', () => this.producer.disconnect());
  }

  sendBatch(request: ProduceRequest): Promise<Ack[]> {
    return translated('Kafka did not acknowledge the batch', async () =>
      toAcks(request, await this.producer.sendBatch(toKafkajsBatch(request))),
    );
  }

  /**
   * Replaces the producer with a new one (a new producer id). When Kafka is unreachable the
   * connect fails; the next send then fails too and resets again.
   */
  async reset(): Promise<void> {
    const old = this.producer;
    this.producer = this.make();
    this.resets += 1;
    await old.disconnect().catch(() => undefined);
    await this.connect();
  }
}

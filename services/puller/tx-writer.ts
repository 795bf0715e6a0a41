/**
 * Writes a batch of an upstream's events and the upstream's new resume position in ONE
 * Kafka transaction: both are visible to read-committed consumers (the workers, the
 * position reader) or neither is. A puller killed mid-batch therefore resumes from the
 * position of the last committed batch, and the events of the unfinished one are aborted,
 * never half-delivered: a restart duplicates nothing the workers saw.
 *
 * The transactional id is `intake-puller-<upstream>`: a second puller that starts on the
 * same upstream fences the first (its next commit fails with a fencing error), so two
 * pullers never both write one upstream's events and position.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Envelope } from '../../lib/envelope';
import { toKafkaMessage } from '../../lib/envelope';
import { ACKS_ALL, createProducer } from '../../lib/kafka/client';

export interface PositionWriter {
  start(): Promise<void>;
  /** Resolves once events and position are committed together; rejects with neither. */
  write(envelopes: Envelope[], position: string | null): Promise<void>;
  /** After a failed write: a fresh producer (the old one may be fenced or broken). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface StoredPosition {
  position: string;
  at: string;
}

export class TransactionalWriter implements PositionWriter {
  private producer: Producer | null = null;

  constructor(
    private readonly deps: {
      kafka: Kafka;
      upstream: string;
      rawTopic: string;
      positionsTopic: string;
    },
  ) {}

  async start(): Promise<void> {
    const producer = createProducer(this.deps.kafka, {
      transactionalId: `intake-puller-${this.deps.upstream}`,
      transactionTimeout: 30_000,
    });
    await producer.connect();
    this.producer = producer;
  }

  async write(envelopes: Envelope[], position: string | null): Promise<void> {
    if (!this.producer) throw new Error('the writer is not started');
    const tx = await this.producer.transaction();
    try {
      await tx.send({
        topic: this.deps.rawTopic,
        acks: ACKS_ALL,
        messages: envelopes.map((e) => toKafkaMessage(e)),
      });
      if (position !== null) {
        const stored: StoredPosition = { position, at: new Date().toISOString() };
        await tx.send({
          topic: this.deps.positionsTopic,
          acks: ACKS_ALL,
          messages: [{ key: this.deps.upstream, value: JSON.stringify(stored) }],
        });
      }
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
  }

  async reset(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = null;
    await this.start();
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect();
    this.producer = null;
  }
}

/** True for the error a fenced (superseded) transactional producer gets. */
export function isFenced(err: unknown): boolean {
  const e = err as { type?: string; message?: string; name?: string };
  return (
    e.type === 'INVALID_PRODUCER_EPOCH' ||
    e.type === 'PRODUCER_FENCED' ||
    /fenced|epoch/i.test(e.message ?? '')
  );
}

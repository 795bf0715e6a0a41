/**
 * Writes a batch of an upstream's events and the upstream's new resume position in ONE
 * Kafka transaction: both are visible to read-committed consumers (the workers, the
 * position reader) or neither is. A puller killed mid-batch therefore resumes from the
 * position of the last committed batch, and the events of the unfinished one are aborted,
 * never half-delivered: a restart duplicates nothing the workers saw.
 *
 * The transactional id is `intake-puller-<upstream>`: a puller whose writer starts on the
 * same upstream fences any other (whose next write fails with a fencing error; puller.ts
 * then stands down), so two pullers never both write one upstream's events and position.
 *
 * Each record's partition is chosen here (the key's default partition, as the edge does)
 * and every send's answer covers all of them before the commit (the port's guarantee,
 * lib/kafka/acknowledged.ts): kafkajs can resolve a send that skipped a partition whose
 * leader moved, and committing then would lose that partition's events.
 */
import type { Envelope } from '../../lib/envelope';
import { toKafkaMessage } from '../../lib/envelope';
import { claimTransactionalId } from '../../lib/kafka/fence';
import { TopicPartitions } from '../../lib/kafka/partitioner';
import type {
  KafkaClient,
  OutRecord,
  Transaction,
  TransactionalProducer,
} from '../../lib/kafka/port';
import { startupRetry, withRetry } from '../../lib/retry';

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

/** A stored position read back from the positions topic; throws on anything else (a view skips it). */
export function parseStoredPosition(value: Buffer | string): StoredPosition {
  const v = JSON.parse(value.toString()) as Partial<StoredPosition> | null;
  if (typeof v?.position !== 'string' || typeof v.at !== 'string')
    throw new Error('not a stored position');
  return { position: v.position, at: v.at };
}

export class TransactionalWriter implements PositionWriter {
  private producer: TransactionalProducer | null = null;
  private readonly partitions = new TopicPartitions();

  constructor(
    private readonly deps: {
      kafka: KafkaClient;
      upstream: string;
      rawTopic: string;
      positionsTopic: string;
    },
  ) {}

  async start(): Promise<void> {
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      const topics = [this.deps.rawTopic, this.deps.positionsTopic];
      await withRetry(() => this.partitions.refresh(admin, topics), startupRetry);
    } finally {
      await admin.disconnect();
    }
    // Fences any other writer of the upstream: a position read after start() includes
    // everything the other committed.
    this.producer = await claimTransactionalId(this.deps.kafka, {
      transactionalId: `intake-puller-${this.deps.upstream}`,
      transactionTimeoutMs: 30_000,
    });
  }

  async write(envelopes: Envelope[], position: string | null): Promise<void> {
    if (!this.producer) throw new Error('the writer is not started');
    const tx = await this.producer.begin();
    try {
      await this.send(
        tx,
        this.deps.rawTopic,
        envelopes.map((e) => toKafkaMessage(e)),
      );
      if (position !== null) {
        const stored: StoredPosition = { position, at: new Date().toISOString() };
        const value = JSON.stringify(stored);
        await this.send(tx, this.deps.positionsTopic, [{ key: this.deps.upstream, value }]);
      }
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
  }

  /** Sends with explicit partitions and checks the answer covers each of them. */
  private async send(tx: Transaction, topic: string, messages: OutRecord[]): Promise<void> {
    const topicMessages = [
      {
        topic,
        messages: messages.map((m) => ({
          ...m,
          partition: this.partitions.partition(topic, String(m.key)),
        })),
      },
    ];
    await tx.sendBatch({ topicMessages });
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

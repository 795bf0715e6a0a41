/**
 * The port's transactional producer on kafkajs. kafkajs registers a transactional id
 * lazily, at its first transaction: `connect()` runs an empty one (no request beyond
 * InitProducerId) so that connecting is the moment this producer fences every earlier one
 * with the same id, and the broker has completed or aborted their open transaction.
 */
import type {
  Kafka,
  Producer as KafkajsProducer,
  Transaction as KafkajsTransaction,
} from 'kafkajs';
import type { Ack, ProduceRequest, Transaction, TransactionalProducer } from '../port';
import { translated } from './errors';
import { kafkajsProducer, toAcks, toKafkajsBatch } from './producer';

export class KafkajsTransactionalProducer implements TransactionalProducer {
  private readonly producer: KafkajsProducer;

  constructor(kafka: Kafka, options: { transactionalId: string; transactionTimeoutMs: number }) {
    this.producer = kafkajsProducer(kafka, {
      transactionalId: options.transactionalId,
      transactionTimeout: options.transactionTimeoutMs,
      // The next transaction's first request meets CONCURRENT_TRANSACTIONS while the
      // previous commit's markers are written: retry it soon, not after kafkajs's 300 ms.
      retry: { initialRetryTime: 10, maxRetryTime: 1000, retries: 10 },
    });
  }

  async connect(): Promise<void> {
    await translated('connecting the transactional producer failed', async () => {
      await this.producer.connect();
      try {
        await (await this.producer.transaction()).abort();
      } catch (err) {
        await this.producer.disconnect().catch(() => undefined);
        throw err;
      }
    });
  }

  disconnect(): Promise<void> {
    return translated('disconnecting the transactional producer failed', () =>
      this.producer.disconnect(),
    );
  }

  async begin(): Promise<Transaction> {
    const tx = await translated('opening a transaction failed', () => this.producer.transaction());
    return new KafkajsTransactionPort(tx);
  }
}

class KafkajsTransactionPort implements Transaction {
  constructor(private readonly tx: KafkajsTransaction) {}

  sendBatch(request: ProduceRequest): Promise<Ack[]> {
    return translated('a send in the transaction failed', async () =>
      toAcks(request, await this.tx.sendBatch(toKafkajsBatch(request))),
    );
  }

  sendOffsets(o: {
    groupId: string;
    topic: string;
    partition: number;
    offset: string;
  }): Promise<void> {
    return translated('adding the offsets to the transaction failed', () =>
      this.tx.sendOffsets({
        consumerGroupId: o.groupId,
        topics: [{ topic: o.topic, partitions: [{ partition: o.partition, offset: o.offset }] }],
      }),
    );
  }

  commit(): Promise<void> {
    return translated('committing the transaction failed', () => this.tx.commit());
  }

  abort(): Promise<void> {
    return translated('aborting the transaction failed', () => this.tx.abort());
  }
}

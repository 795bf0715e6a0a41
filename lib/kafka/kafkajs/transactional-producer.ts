/**
 * The port's transactional producer on kafkajs. kafkajs registers a transactional id
 * lazily, at its first transaction: `connect()` runs an empty one (no request beyond
 * InitProducerId) so that connecting is the moment this producer fences every earlier one
 * with the same id, and the broker has completed or aborted their open transaction.
 * A fenced producer stays fenced: every later call rejects `KAFKA_FENCED` (kafkajs itself
 * answers them with a state error).
 */
import type {
  Kafka,
  Producer as KafkajsProducer,
  Transaction as KafkajsTransaction,
} from 'kafkajs';
import type { Ack, ProduceRequest, Transaction, TransactionalProducer } from '../port';
import { translate } from './errors';
import { FencedLatch } from '../broker-errors';
import { kafkajsProducer, toAcks, toKafkajsBatch } from './producer';

export class KafkajsTransactionalProducer implements TransactionalProducer {
  private readonly producer: KafkajsProducer;
  private readonly latch = new FencedLatch(translate);

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
    await this.call('connecting the transactional producer failed', async () => {
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
    return this.call('disconnecting the transactional producer failed', () =>
      this.producer.disconnect(),
    );
  }

  async begin(): Promise<Transaction> {
    const tx = await this.call('opening a transaction failed', () => this.producer.transaction());
    return new KafkajsTransactionPort(tx, this);
  }

  /** Runs a client call, translated; once fenced, nothing runs any more (../broker-errors.ts). */
  call<T>(what: string, run: () => Promise<T>): Promise<T> {
    return this.latch.call(what, run);
  }
}

class KafkajsTransactionPort implements Transaction {
  constructor(
    private readonly tx: KafkajsTransaction,
    private readonly producer: KafkajsTransactionalProducer,
  ) {}

  sendBatch(request: ProduceRequest): Promise<Ack[]> {
    return this.producer.call('a send in the transaction failed', async () =>
      toAcks(request, await this.tx.sendBatch(toKafkajsBatch(request))),
    );
  }

  sendOffsets(o: {
    groupId: string;
    topic: string;
    partition: number;
    offset: string;
  }): Promise<void> {
    return this.producer.call('adding the offsets to the transaction failed', () =>
      this.tx.sendOffsets({
        consumerGroupId: o.groupId,
        topics: [{ topic: o.topic, partitions: [{ partition: o.partition, offset: o.offset }] }],
      }),
    );
  }

  commit(): Promise<void> {
    return this.producer.call('committing the transaction failed', () => this.tx.commit());
  }

  abort(): Promise<void> {
    return this.producer.call('aborting the transaction failed', () => this.tx.abort());
  }
}

/**
 * The @platformatic/kafka adapter of the Kafka port (`INTAKE_KAFKA_CLIENT=platformatic`).
 */
import { KafkajsClient } from '../kafkajs';
import type {
  Admin,
  Consumer,
  ConsumerOptions,
  KafkaClient,
  KafkaClientOptions,
  Producer,
  ProducerOptions,
  TransactionalProducer,
} from '../port';
import { PlatformaticProducer } from './producer';

export class PlatformaticClient implements KafkaClient {
  readonly name = 'platformatic' as const;
  // NOTE: transactions, consumers and admin calls go through kafkajs until this adapter
  // has its own.
  private readonly others: KafkajsClient;

  constructor(private readonly options: KafkaClientOptions) {
    this.others = new KafkajsClient(options);
  }

  producer(options: ProducerOptions = {}): Producer {
    const o = this.options;
    return new PlatformaticProducer({
      clientId: o.clientId,
      brokers: o.brokers,
      connectTimeoutMs: o.connectionTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs,
      retries: options.retries ?? o.retries,
    });
  }

  transactionalProducer(options: {
    transactionalId: string;
    transactionTimeoutMs: number;
  }): TransactionalProducer {
    return this.others.transactionalProducer(options);
  }

  consumer(options: ConsumerOptions): Consumer {
    return this.others.consumer(options);
  }

  admin(options: { retries?: number } = {}): Admin {
    return this.others.admin(options);
  }
}

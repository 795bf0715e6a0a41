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
import { PlatformaticAdmin } from './admin';
import type { Connection } from './load';
import { PlatformaticProducer } from './producer';

export class PlatformaticClient implements KafkaClient {
  readonly name = 'platformatic' as const;
  // NOTE: transactions and consumers go through kafkajs until this adapter has its own.
  private readonly others: KafkajsClient;

  constructor(private readonly options: KafkaClientOptions) {
    this.others = new KafkajsClient(options);
  }

  /** How each of this client's producers and admin clients reaches the cluster. */
  private connection(retries?: number): Connection {
    const o = this.options;
    return {
      clientId: o.clientId,
      brokers: o.brokers,
      connectTimeoutMs: o.connectionTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs,
      retries: retries ?? o.retries,
    };
  }

  producer(options: ProducerOptions = {}): Producer {
    return new PlatformaticProducer(this.connection(options.retries));
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
    return new PlatformaticAdmin(this.connection(options.retries));
  }
}

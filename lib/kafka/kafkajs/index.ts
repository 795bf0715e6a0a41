/**
 * The kafkajs adapter of the Kafka port (the default client). One `Kafka` instance per
 * service builds every producer, consumer and admin client.
 */
import { Kafka } from 'kafkajs';
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
import { KafkajsAdminPort } from './admin';
import { KafkajsConsumerPort } from './consumer';
import { mendKafkajsFraming } from './framing';
import { kafkaLogCreator } from './log';
import { mendKafkajsReadCommitted } from './read-committed';
import { mendKafkajsRejoin } from './rejoin';
import { KafkajsProducerPort, kafkajsProducer } from './producer';
import { KafkajsTransactionalProducer } from './transactional-producer';

export class KafkajsClient implements KafkaClient {
  readonly name = 'kafkajs' as const;
  private readonly kafka: Kafka;

  constructor(options: KafkaClientOptions) {
    mendKafkajsFraming();
    mendKafkajsReadCommitted();
    mendKafkajsRejoin();
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logCreator: options.silent ? () => () => undefined : kafkaLogCreator(options.logger),
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? 10000,
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: options.retries ?? 5 },
    });
  }

  producer(options: ProducerOptions = {}): Producer {
    const retry = options.retries === undefined ? undefined : { retries: options.retries };
    return new KafkajsProducerPort(() => kafkajsProducer(this.kafka, { retry }));
  }

  transactionalProducer(options: {
    transactionalId: string;
    transactionTimeoutMs: number;
  }): TransactionalProducer {
    return new KafkajsTransactionalProducer(this.kafka, options);
  }

  consumer(options: ConsumerOptions): Consumer {
    return new KafkajsConsumerPort(this.kafka, options);
  }

  admin(options: { retries?: number } = {}): Admin {
    const retry = options.retries === undefined ? undefined : { retries: options.retries };
    return new KafkajsAdminPort(this.kafka.admin({ retry }));
  }
}

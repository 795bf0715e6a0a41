/**
 * The @platformatic/kafka adapter of the Kafka port (`INTAKE_KAFKA_CLIENT=platformatic`):
 * producers, transactional producers, consumers and admin clients, each a client of the
 * package of its own. The client keeps its running consumers by group, so a transaction's
 * offsets carry their group membership (transactional-producer.ts).
 */
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
import type { GroupMember } from './consumer';
import { PlatformaticConsumer } from './consumer';
import type { Connection } from './load';
import { PlatformaticProducer } from './producer';
import { PlatformaticTransactionalProducer } from './transactional-producer';

export class PlatformaticClient implements KafkaClient {
  readonly name = 'platformatic' as const;
  private readonly consumers = new Set<PlatformaticConsumer>();

  constructor(private readonly options: KafkaClientOptions) {}

  /** How each of this client's producers, consumers and admin clients reaches the cluster. */
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
    return new PlatformaticTransactionalProducer(this.connection(), options, (groupId) =>
      this.member(groupId),
    );
  }

  consumer(options: ConsumerOptions): Consumer {
    const consumer: PlatformaticConsumer = new PlatformaticConsumer(
      this.connection(),
      options,
      () => this.consumers.delete(consumer),
    );
    this.consumers.add(consumer);
    return consumer;
  }

  admin(options: { retries?: number } = {}): Admin {
    return new PlatformaticAdmin(this.connection(options.retries));
  }

  /** The membership of a running consumer of `groupId` in this client (null when none). */
  private member(groupId: string): GroupMember | null {
    for (const c of this.consumers) {
      const member = c.member();
      if (member?.groupId === groupId) return member;
    }
    return null;
  }
}

/**
 * The port's transactional producer on @platformatic/kafka 1.x.
 *
 * - `connect()` registers the transactional id (InitProducerId, asking for no particular
 *   producer id: the newcomer always wins), which fences every earlier producer with it;
 * - a fenced producer stays fenced: every later call rejects `KAFKA_FENCED` (the client
 *   would otherwise register the id again at its next transaction and fence the newcomer);
 * - `sendOffsets` commits the input offset with the transaction and, when a consumer of
 *   the group runs in this client, with its membership (generation, member id): the broker
 *   then refuses the offsets of a member the group moved on without (`KAFKA_NOT_MEMBER`),
 *   so a zombie cannot commit over the partition's new owner. Without one (a tool
 *   committing for a group it is no member of) the offsets go without membership.
 *
 * NOTE: the client sends one timeout both as the transaction timeout and as the produce
 * timeout: the transaction's (`transactionTimeoutMs`) is used.
 */
import { IntakeError } from '../../errors';
import type { Ack, ProduceRequest, Transaction, TransactionalProducer } from '../port';
import type { GroupMember } from './consumer';
import { translate } from './errors';
import { FencedLatch } from '../broker-errors';
import type { Connection, Platformatic } from './load';
import { baseOptions, platformatic } from './load';
import type { Client } from './producer';
import { serializers, toAcks, toMessages } from './producer';

type ClientTransaction = Awaited<ReturnType<Client['beginTransaction']>>;

/** The membership of `groupId` in this process's client, or how to find its coordinator. */
export type GroupMembers = (groupId: string) => GroupMember | null;

export class PlatformaticTransactionalProducer implements TransactionalProducer {
  private readonly client: Client;
  private readonly latch = new FencedLatch(translate);
  private readonly coordinators = new Map<string, number>();

  constructor(
    private readonly connection: Connection,
    options: { transactionalId: string; transactionTimeoutMs: number },
    private readonly members: GroupMembers,
  ) {
    const { Producer, ProduceAcks } = platformatic();
    this.client = new Producer<Buffer, Buffer, string, Buffer>({
      ...baseOptions(connection),
      timeout: options.transactionTimeoutMs,
      // The next transaction's first request meets CONCURRENT_TRANSACTIONS while the
      // previous commit's markers are written: retried soon, then backing off (10 ms
      // doubling up to 1 s, about 5 s in all: a broker just started creates its
      // transaction log first).
      retryDelay: (_client: unknown, _operation: string, attempt: number) =>
        Math.min(10 * 2 ** attempt, 1000),
      retries: Math.max(connection.retries ?? 5, 10),
      serializers,
      // Safety-critical, after the options: cannot be turned off.
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
      transactionalId: options.transactionalId,
      // No expected producer id: the broker gives the id to this producer whatever it had.
      producerId: -1n,
      producerEpoch: -1,
    });
  }

  async connect(): Promise<void> {
    const tx = await this.call('connecting the transactional producer failed', () =>
      this.client.beginTransaction(),
    );
    // Registered now; nothing was sent: the transaction ends here without a request.
    await tx.cancel();
  }

  async disconnect(): Promise<void> {
    await this.call('disconnecting the transactional producer failed', () => this.client.close());
  }

  async begin(): Promise<Transaction> {
    const tx = await this.call('opening a transaction failed', () =>
      this.client.beginTransaction(),
    );
    return new PlatformaticTransaction(tx, this);
  }

  /** Runs a client call, translated; once fenced, nothing runs any more (../broker-errors.ts). */
  call<T>(what: string, run: () => Promise<T>): Promise<T> {
    return this.latch.call(what, run);
  }

  /** The membership a transaction's offsets of `groupId` carry. */
  async member(groupId: string): Promise<GroupMember> {
    const member = this.members(groupId);
    if (member) return member;
    let coordinatorId = this.coordinators.get(groupId);
    if (coordinatorId === undefined) {
      const finder = new (platformatic().Consumer)({
        ...baseOptions(this.connection),
        groupId,
      });
      try {
        coordinatorId = await finder.findGroupCoordinator();
      } finally {
        await finder.close().catch(() => undefined);
      }
      this.coordinators.set(groupId, coordinatorId);
    }
    return { groupId, coordinatorId, generationId: -1, memberId: '' };
  }
}

class PlatformaticTransaction implements Transaction {
  constructor(
    private readonly tx: ClientTransaction,
    private readonly producer: PlatformaticTransactionalProducer,
  ) {}

  async sendBatch(request: ProduceRequest): Promise<Ack[]> {
    const result = await this.producer.call('a send in the transaction failed', () =>
      this.tx.send({
        messages: toMessages(request.topicMessages),
        acks: platformatic().ProduceAcks.ALL,
      }),
    );
    return toAcks(request.topicMessages, result);
  }

  async sendOffsets(o: {
    groupId: string;
    topic: string;
    partition: number;
    offset: string;
  }): Promise<void> {
    await this.producer.call('adding the offsets to the transaction failed', async () => {
      const consumer = await this.producer.member(o.groupId);
      // The client takes a consumed message and commits the offset after it.
      await this.tx.addConsumer({ groupId: o.groupId } as Platformatic.Consumer);
      await this.tx.addOffset({
        topic: o.topic,
        partition: o.partition,
        offset: BigInt(o.offset) - 1n,
        metadata: { consumer },
      } as unknown as Platformatic.Message);
    });
  }

  commit(): Promise<void> {
    return this.end('committing the transaction failed', () => this.tx.commit());
  }

  abort(): Promise<void> {
    return this.end('aborting the transaction failed', () => this.tx.abort());
  }

  /** Ends the transaction; after a failure it is over on this side all the same. */
  private async end(what: string, run: () => Promise<void>): Promise<void> {
    try {
      await this.producer.call(what, run);
    } catch (err) {
      if (!this.tx.completed) await this.tx.cancel().catch(() => undefined);
      throw err instanceof IntakeError ? err : translate(err, what);
    }
  }
}

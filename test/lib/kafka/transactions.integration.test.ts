/**
 * The port's transactional producer on each Kafka client's adapter, against a real broker:
 * a committed transaction's records and input offset become visible together; an aborted
 * one leaves nothing a read_committed reader sees and no offset; a producer that connects
 * with the same transactional id fences the earlier one (its open transaction aborted, its
 * later calls rejected `KAFKA_FENCED`), and a fenced producer stays fenced. On
 * @platformatic/kafka the offsets carry the group membership: the broker refuses those of
 * a member the group moved on without.
 */
import { IntakeError } from '../../../lib/errors';
import type { Admin, KafkaClient, TransactionalProducer } from '../../../lib/kafka/port';
import type { PlatformaticConsumer } from '../../../lib/kafka/platformatic/consumer';
import { PlatformaticTransactionalProducer } from '../../../lib/kafka/platformatic/transactional-producer';
import { KAFKA_CLIENTS } from '../../../lib/kafka/port';
import { withRetry } from '../../../lib/retry';
import {
  createTopic,
  randomName,
  readToEnd,
  testKafka,
  waitFor,
} from '../../support/kafka-helpers';
import { TEST_BROKER } from '../../support/test-env';

const records = (prefix: string, n: number): { key: string; value: string }[] =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}` }));

describe.each(KAFKA_CLIENTS)('transactions on %s (real broker)', (client) => {
  const kafka = testKafka(TEST_BROKER.brokers, client);
  let admin: Admin;
  const producers: TransactionalProducer[] = [];

  const transactional = async (transactionalId: string): Promise<TransactionalProducer> => {
    const producer = kafka.transactionalProducer({ transactionalId, transactionTimeoutMs: 30_000 });
    producers.push(producer);
    await producer.connect();
    return producer;
  };

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
    await admin.disconnect();
  });

  it('commits records and the input offset together; an aborted transaction leaves nothing a read_committed reader sees', async () => {
    const [out, input] = [randomName(`tx-out-${client}`), randomName(`tx-in-${client}`)];
    await createTopic(admin, out, 2);
    await createTopic(admin, input, 1);
    const groupId = randomName('tx-group');
    // On a broker just started, the groups' coordinator (its offsets topic) comes up first.
    await withRetry(() => admin.fetchOffsets(groupId, input));
    const producer = await transactional(randomName('tx'));

    const committed = await producer.begin();
    const acks = await committed.sendBatch({
      topicMessages: [{ topic: out, messages: records('committed', 10) }],
    });
    expect(acks.length).toBeGreaterThan(0);
    await committed.sendOffsets({ groupId, topic: input, partition: 0, offset: '42' });
    await committed.commit();

    const aborted = await producer.begin();
    await aborted.sendBatch({ topicMessages: [{ topic: out, messages: records('aborted', 10) }] });
    await aborted.sendOffsets({ groupId, topic: input, partition: 0, offset: '99' });
    await aborted.abort();

    // A third transaction after the abort: the producer goes on.
    const last = await producer.begin();
    await last.sendBatch({ topicMessages: [{ topic: out, messages: records('last', 5) }] });
    await last.commit();

    const read = await readToEnd(kafka, [out]);
    expect(read.map((m) => m.value).sort()).toEqual(
      [...records('committed', 10), ...records('last', 5)].map((r) => r.value).sort(),
    );
    expect(await admin.fetchOffsets(groupId, input)).toEqual([{ partition: 0, offset: '42' }]);
  });

  it('interleaved aborted transactions of two producers on one partition: a read_committed reader sees none of them', async () => {
    // The broker lists the answer's aborted transactions in the order they ended (b, then
    // a), not by first offset: kafkajs' own filter let a's first record through.
    const topic = randomName(`tx-interleaved-${client}`);
    await createTopic(admin, topic, 1);
    const [a, b] = [
      await transactional(randomName('tx-a')),
      await transactional(randomName('tx-b')),
    ];
    const send = (tx: Awaited<ReturnType<TransactionalProducer['begin']>>, value: string) =>
      tx.sendBatch({ topicMessages: [{ topic, messages: [{ key: value, value, partition: 0 }] }] });
    const ta = await a.begin();
    await send(ta, 'a-aborted-1');
    const tb = await b.begin();
    await send(tb, 'b-aborted-1');
    await send(ta, 'a-aborted-2');
    await tb.abort();
    await send(ta, 'a-aborted-3');
    await ta.abort();
    const tc = await b.begin();
    await send(tc, 'b-committed');
    await tc.commit();

    const read = await readToEnd(kafka, [topic]);
    expect(read.map((m) => m.value)).toEqual(['b-committed']);
  });

  it('fences a zombie: a newcomer with the same transactional id aborts its open transaction and it can do nothing more', async () => {
    const out = randomName(`tx-fence-${client}`);
    await createTopic(admin, out, 1);
    const transactionalId = randomName('tx-zombie');
    const zombie = await transactional(transactionalId);
    const open = await zombie.begin();
    await open.sendBatch({ topicMessages: [{ topic: out, messages: records('zombie', 5) }] });

    const newcomer = await transactional(transactionalId);
    const fenced = await open.commit().then(
      () => null,
      (err: unknown) => err,
    );
    expect(fenced).toBeInstanceOf(IntakeError);
    expect(fenced).toMatchObject({ code: 'KAFKA_FENCED', retriable: true });
    // Still fenced: its next transaction fails too, before anything is written.
    const again = await zombie
      .begin()
      .then((tx) => tx.sendBatch({ topicMessages: [{ topic: out, messages: records('late', 1) }] }))
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(again).toMatchObject({ code: 'KAFKA_FENCED' });

    const tx = await newcomer.begin();
    await tx.sendBatch({ topicMessages: [{ topic: out, messages: records('newcomer', 3) }] });
    await tx.commit();
    const read = await readToEnd(kafka, [out]);
    expect(read.map((m) => m.value)).toEqual(records('newcomer', 3).map((r) => r.value));
  });
});

describe('transactional offsets with the group membership on platformatic (real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers, 'platformatic');
  const other = testKafka(TEST_BROKER.brokers, 'platformatic');

  it('the broker refuses the offsets of a member the group moved on without: a zombie cannot commit over the new owner', async () => {
    const admin = kafka.admin();
    const input = randomName('tx-member-in');
    const out = randomName('tx-member-out');
    const groupId = randomName('tx-member-group');
    await createTopic(admin, input, 2);
    await createTopic(admin, out, 1);
    await withRetry(() => admin.fetchOffsets(groupId, input));
    const start = async (client: KafkaClient): Promise<PlatformaticConsumer> => {
      const c = client.consumer({ groupId, sessionTimeoutMs: 10_000 }) as PlatformaticConsumer;
      await c.connect();
      await c.subscribe(input, { fromBeginning: true });
      await c.run({ eachBatch: () => Promise.resolve() });
      return c;
    };
    const first = await start(kafka);
    const stale = first.member()!;
    const second = await start(other);
    const zombie = new PlatformaticTransactionalProducer(
      { clientId: 'zombie', brokers: TEST_BROKER.brokers },
      { transactionalId: randomName('tx-zombie'), transactionTimeoutMs: 30_000 },
      () => stale,
    );
    const owner = kafka.transactionalProducer({
      transactionalId: randomName('tx-owner'),
      transactionTimeoutMs: 30_000,
    });
    try {
      // The second member's join is a new generation: the first one's membership is stale.
      await waitFor(
        (): boolean => (first.member()?.generationId ?? stale.generationId) > stale.generationId,
        {
          what: 'a new generation',
        },
      );
      await zombie.connect();
      const tx = await zombie.begin();
      await tx.sendBatch({ topicMessages: [{ topic: out, messages: records('zombie', 1) }] });
      const refused = await tx
        .sendOffsets({ groupId, topic: input, partition: 0, offset: '7' })
        .then(
          () => null,
          (err: unknown) => err,
        );
      expect(refused).toMatchObject({ code: 'KAFKA_NOT_MEMBER', retriable: true });
      await tx.abort();

      // The member as it is now (this client's running consumer) commits.
      await owner.connect();
      const ok = await owner.begin();
      await ok.sendBatch({ topicMessages: [{ topic: out, messages: records('owner', 1) }] });
      await ok.sendOffsets({ groupId, topic: input, partition: 0, offset: '5' });
      await ok.commit();
      // NOTE: the commit returns once the coordinator took it; the offsets show once its
      // markers are written, a moment later.
      const committed = async (): Promise<string | undefined> =>
        (await admin.fetchOffsets(groupId, input)).find((o) => o.partition === 0)?.offset;
      await waitFor(async () => (await committed()) === '5', {
        timeoutMs: 15_000,
        what: "the owner's offset 5 committed",
      });
    } finally {
      await zombie.disconnect().catch(() => undefined);
      await owner.disconnect().catch(() => undefined);
      await second.disconnect();
      await first.disconnect();
      await admin.disconnect();
    }
  });
});

/**
 * The port's group consumer on each Kafka client's adapter, against a real broker: a
 * group's members share the partitions and one that leaves hands its partitions over
 * (every record read, the committed offsets honoured); a paused partition is not read
 * until resumed while the others are; a seek moves a partition's next fetch; the batch of a
 * failing `eachBatch` is read again from its last resolved offset; a member whose batch's
 * heartbeat finds the group rebalancing rejoins without a crash.
 */
import type { ConsumedRecord, Consumer, KafkaClient, RunOptions } from '../../../lib/kafka/port';
import { KAFKA_CLIENTS } from '../../../lib/kafka/port';
import { adminAndProducer } from '../../support/kafka-clients';
import {
  createTopic,
  randomName,
  sendRecords,
  testKafka,
  waitFor,
} from '../../support/kafka-helpers';
import { sleep } from '../../../lib/lifecycle';
import { TEST_BROKER } from '../../support/test-env';

interface Seen {
  member: string;
  partition: number;
  offset: string;
  value: string;
}

/** A consumer of `topic` in `groupId` that records what it reads and commits after each batch. */
async function startMember(
  kafka: KafkaClient,
  groupId: string,
  topic: string,
  name: string,
  seen: Seen[],
): Promise<{ consumer: Consumer; assignments: number[][] }> {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
  });
  const assignments: number[][] = [];
  consumer.onGroupJoin((a) => assignments.push([...(a[topic] ?? [])].sort()));
  await consumer.connect();
  await consumer.subscribe(topic, { fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 2,
    eachBatch: async (payload) => {
      const { batch } = payload;
      if (payload.isStale()) return;
      for (const m of batch.messages) seen.push(toSeen(name, batch.partition, m));
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next }]);
    },
  });
  return { consumer, assignments };
}

/** Waits until two members' latest assignments are both non-empty and cover partitions 0-3. */
async function bothAssigned(a: number[][], b: number[][]): Promise<void> {
  await waitFor(
    () => {
      const la = a.at(-1) ?? [];
      const lb = b.at(-1) ?? [];
      return la.length > 0 && lb.length > 0 && [...la, ...lb].sort().join() === '0,1,2,3';
    },
    { what: 'both members assigned', timeoutMs: 60_000 },
  );
}

function toSeen(member: string, partition: number, m: ConsumedRecord): Seen {
  return { member, partition, offset: m.offset, value: m.value?.toString() ?? '' };
}

const values = (prefix: string, n: number): { key: string; value: string }[] =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}` }));

describe.each(KAFKA_CLIENTS)('the group consumer on %s (real broker)', (client) => {
  const kafka = testKafka(TEST_BROKER.brokers, client);
  const { admin, producer } = adminAndProducer(kafka);

  /** A consumer of `topic` in a fresh group, running, that records what it reads. */
  const startReader = async (
    topic: string,
    seen: Seen[],
    options: Partial<RunOptions> = {},
    prepare: (consumer: Consumer) => void = () => undefined,
  ): Promise<Consumer> => {
    const consumer = kafka.consumer({ groupId: randomName('group') });
    prepare(consumer);
    await consumer.connect();
    await consumer.subscribe(topic, { fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) seen.push(toSeen('c', batch.partition, m));
        await Promise.resolve();
      },
      ...options,
    });
    return consumer;
  };

  it('shares the partitions between two members; when one leaves the other takes them all, reading every record once past the commits', async () => {
    const topic = randomName(`consumer-${client}`);
    const groupId = randomName('group');
    await createTopic(admin, topic, 4);
    await sendRecords(producer, topic, values('before', 40));
    const seen: Seen[] = [];
    const a = await startMember(kafka, groupId, topic, 'a', seen);
    const b = await startMember(kafka, groupId, topic, 'b', seen);
    try {
      // Both members hold partitions of one generation, together all four.
      await bothAssigned(a.assignments, b.assignments);
      await waitFor(() => new Set(seen.map((s) => s.value)).size === 40, { what: '40 records' });

      await b.consumer.disconnect();
      await waitFor(() => a.assignments.at(-1)?.join() === '0,1,2,3', {
        what: 'a assigned every partition',
        timeoutMs: 60_000,
      });
      await sendRecords(producer, topic, values('after', 40));
      await waitFor(() => seen.filter((s) => s.value.startsWith('after')).length >= 40, {
        what: 'the records sent after b left',
      });
      const after = seen.filter((s) => s.value.startsWith('after'));
      expect(new Set(after.map((s) => s.member))).toEqual(new Set(['a']));
      expect(new Set(after.map((s) => s.value)).size).toBe(40);
      // Committed before the hand-over: nothing of `before` is read again after it.
      const perRecord = new Map<string, number>();
      for (const s of seen) perRecord.set(s.value, (perRecord.get(s.value) ?? 0) + 1);
      expect([...perRecord.values()].every((n) => n === 1)).toBe(true);
    } finally {
      await a.consumer.disconnect();
      await b.consumer.disconnect();
    }
    const committed = await admin.fetchOffsets(groupId, topic);
    const ends = await admin.fetchTopicOffsets(topic);
    expect(committed.sort((x, y) => x.partition - y.partition).map((c) => c.offset)).toEqual(
      ends.sort((x, y) => x.partition - y.partition).map((e) => e.high),
    );
  });

  it('reads nothing of a paused partition while the others go on, and all of it once resumed', async () => {
    const topic = randomName(`pause-${client}`);
    await createTopic(admin, topic, 2);
    const seen: Seen[] = [];
    const consumer = await startReader(topic, seen);
    try {
      consumer.pause(topic, [0]);
      const to = (partition: number, prefix: string, n: number): Promise<void> =>
        sendRecords(
          producer,
          topic,
          values(prefix, n).map((r) => ({ ...r, partition })),
        );
      await to(0, 'p0', 10);
      await to(1, 'p1-first', 10);
      await waitFor(() => seen.filter((s) => s.partition === 1).length === 10, { what: 'p1' });
      // Written after p0's records and read: p0's records would have been read by now.
      await to(1, 'p1-second', 10);
      await waitFor(() => seen.filter((s) => s.partition === 1).length === 20, {
        what: 'p1 again',
      });
      expect(seen.filter((s) => s.partition === 0)).toEqual([]);

      consumer.resume(topic, [0]);
      await waitFor(() => seen.filter((s) => s.partition === 0).length === 10, { what: 'p0' });
      expect(seen.filter((s) => s.partition === 0).map((s) => s.value)).toEqual(
        values('p0', 10).map((r) => r.value),
      );
    } finally {
      await consumer.disconnect();
    }
  });

  it('starts the next fetch of a partition where a seek says, also one made before the first fetch', async () => {
    const topic = randomName(`seek-${client}`);
    await createTopic(admin, topic, 1);
    await sendRecords(producer, topic, values('r', 10));
    const seen: Seen[] = [];
    const consumer = await startReader(topic, seen);
    try {
      consumer.seek(topic, 0, '7');
      await waitFor(() => seen.length >= 3, { what: 'the records from offset 7' });
      expect(seen.map((s) => s.offset)).toEqual(['7', '8', '9']);
      consumer.seek(topic, 0, '2');
      await waitFor(() => seen.length >= 11, { what: 'the records from offset 2' });
      expect(seen.slice(3).map((s) => s.offset)).toEqual(['2', '3', '4', '5', '6', '7', '8', '9']);
    } finally {
      await consumer.disconnect();
    }
  });

  it('reads the batch of a failing eachBatch again from the last resolved offset, and goes on', async () => {
    const topic = randomName(`crash-${client}`);
    await createTopic(admin, topic, 1);
    await sendRecords(producer, topic, values('r', 5));
    const crashes: { code: unknown; restarting: boolean }[] = [];
    const offsets: string[] = [];
    let failed = false;
    const consumer = await startReader(
      topic,
      [],
      {
        manualResolve: true,
        eachBatch: async (payload) => {
          for (const m of payload.batch.messages) {
            if (m.offset === '3' && !failed) {
              failed = true;
              throw new Error('processing failed');
            }
            offsets.push(m.offset);
            payload.resolveOffset(m.offset);
          }
          await Promise.resolve();
        },
      },
      (c) =>
        c.onCrash((err, restarting) =>
          crashes.push({ code: (err as { code?: unknown }).code, restarting }),
        ),
    );
    try {
      await waitFor(() => offsets.includes('4'), { what: 'offset 4', timeoutMs: 60_000 });
      expect(offsets).toEqual(['0', '1', '2', '3', '4']);
      // Reported or not (kafkajs retries a batch without a crash), never as a final one.
      expect(crashes.filter((c) => !c.restarting)).toEqual([]);
    } finally {
      await consumer.disconnect();
    }
  });

  it('a member heartbeating through a long batch when another joins rejoins at once: no crash, the partitions shared', async () => {
    const topic = randomName(`rejoin-${client}`);
    const groupId = randomName('group');
    await createTopic(admin, topic, 4);
    await sendRecords(producer, topic, values('r', 40));
    const crashes: string[] = [];
    const assignments: number[][] = [];
    let batches = 0;
    let done = false;
    const a = kafka.consumer({ groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000 });
    a.onGroupJoin((assignment) => assignments.push([...(assignment[topic] ?? [])].sort()));
    a.onCrash((err) => crashes.push(err.message));
    await a.connect();
    await a.subscribe(topic, { fromBeginning: true });
    await a.run({
      // As the worker while a chunk is handed off: it heartbeats until done, and a refused
      // heartbeat (the group moved on) ends the batch with its error.
      eachBatch: async (payload) => {
        batches += 1;
        while (!done) {
          await payload.heartbeat();
          await sleep(100);
        }
      },
    });
    let b: Awaited<ReturnType<typeof startMember>> | undefined;
    try {
      await waitFor(() => batches > 0, { what: "a's first batch", timeoutMs: 60_000 });
      b = await startMember(kafka, groupId, topic, 'b', []);
      await bothAssigned(assignments, b.assignments);
      expect(crashes).toEqual([]);
    } finally {
      done = true;
      await a.disconnect();
      await b?.consumer.disconnect();
    }
  });
});

describe('one group with a member on each client (real broker)', () => {
  const [onKafkajs, onPlatformatic] = KAFKA_CLIENTS.map((c) => testKafka(TEST_BROKER.brokers, c));
  const { admin, producer } = adminAndProducer(onKafkajs!);

  it('shares the partitions between a kafkajs member and a @platformatic/kafka member, every record read', async () => {
    const topic = randomName('consumer-mixed');
    const groupId = randomName('group-mixed');
    await createTopic(admin, topic, 4);
    await sendRecords(producer, topic, values('mixed', 40));
    const seen: Seen[] = [];
    const a = await startMember(onKafkajs!, groupId, topic, 'kafkajs', seen);
    const b = await startMember(onPlatformatic!, groupId, topic, 'platformatic', seen);
    try {
      await bothAssigned(a.assignments, b.assignments);
      await sendRecords(producer, topic, values('shared', 40));
      await waitFor(() => new Set(seen.map((s) => s.value)).size === 80, { what: '80 records' });
      expect(
        new Set(seen.filter((s) => s.value.startsWith('shared')).map((s) => s.member)),
      ).toEqual(new Set(['kafkajs', 'platformatic']));
    } finally {
      await b.consumer.disconnect();
      await a.consumer.disconnect();
    }
  });
});

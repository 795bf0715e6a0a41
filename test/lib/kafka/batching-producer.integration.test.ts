/**
 * The batching producer against a real broker, with each Kafka client (kafkajs and
 * @platformatic/kafka): N concurrent sends are each delivered exactly once, with the
 * offsets it reported, in send order per key; with one producer, and with three lanes
 * (three producers) where one send spans several lanes. Under load (many sends queued
 * while a request is in flight, many requests in a row), no request fails (an
 * out-of-order sequence number would) and each key's records are in Kafka in send order.
 */
import type { Admin, Producer } from '../../../lib/kafka/port';
import { KAFKA_CLIENTS } from '../../../lib/kafka/port';
import type { PartitionedRecord } from '../../../lib/kafka/batching-producer';
import { BatchingProducer } from '../../../lib/kafka/batching-producer';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { createTopic, randomName, readTopic, testKafka } from '../../support/kafka-helpers';
import { silentLogger } from '../../support/fakes';
import { TEST_BROKER } from '../../support/test-env';

describe.each(KAFKA_CLIENTS)('BatchingProducer with %s (real broker)', (client) => {
  const kafka = testKafka(TEST_BROKER.brokers, client);
  let admin: Admin;
  let producers: Producer[];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producers = [1, 2, 3].map(() => kafka.producer());
    await Promise.all(producers.map((p) => p.connect()));
  });

  afterAll(async () => {
    await Promise.all(producers.map((p) => p.disconnect()));
    await admin.disconnect();
  });

  it.each([1, 3])(
    'with %i lane(s): delivers N concurrent sends exactly once each, in key order per partition, at the reported offsets',
    async (lanes) => {
      const topic = randomName('batching');
      await createTopic(admin, topic, 6);
      const partitions = new TopicPartitions();
      await partitions.refresh(admin, [topic]);
      const batcher = new BatchingProducer({
        producer: producers.slice(0, lanes),
        logger: silentLogger(),
        options: { lingerMs: 2 },
      });

      const N = 2000;
      const keys = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'];
      // Record r belongs to send floor(r / 2); each send has two keys (often two lanes).
      const keyOf = (r: number): string => keys[(r * 3) % keys.length]!;
      const record = (r: number): PartitionedRecord => ({
        key: keyOf(r),
        value: JSON.stringify({ r }),
        partition: partitions.partition(topic, keyOf(r)),
      });
      const sends = Array.from({ length: N / 2 }, (_, i) =>
        batcher.send(topic, [record(2 * i), record(2 * i + 1)]),
      );
      const positions = (await Promise.all(sends)).flat();
      const stats = batcher.stats();
      expect(stats.records).toBe(N);
      expect(stats.batches).toBeLessThan(N / 10); // coalesced, not one request per send
      expect(stats.lanes).toBe(lanes);

      const messages = await readTopic(kafka, topic, (m) => m.length >= N);
      expect(messages).toHaveLength(N);
      const seen = new Map<number, { partition: number; offset: string }>();
      for (const m of messages) {
        const { r } = JSON.parse(m.value) as { r: number };
        expect(seen.has(r)).toBe(false);
        seen.set(r, { partition: m.partition, offset: m.offset });
      }
      // Each send resolved with the partition and offset where its record really is.
      positions.forEach((p, r) =>
        expect(seen.get(r)).toEqual({ partition: p.partition, offset: p.offset }),
      );
      // Per key, offsets grow in send order.
      for (const key of keys) {
        const offsets = positions.filter((_, r) => keyOf(r) === key).map((p) => BigInt(p.offset));
        expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      }
      await batcher.close();
    },
  );

  it('under load: no failed request (no sequence error), each key in send order in Kafka', async () => {
    const topic = randomName('batching-load');
    await createTopic(admin, topic, 6);
    const partitions = new TopicPartitions();
    await partitions.refresh(admin, [topic]);
    // Small requests, so many follow one another while sends keep queueing. All 2,000
    // sends are queued at once and each one's ack timeout runs from its queueing: a bound
    // well above the whole run's, so a machine busy with other suites fails this test only
    // on what it checks (failed requests, order), not on its speed.
    const batcher = new BatchingProducer({
      producer: producers[0]!,
      logger: silentLogger(),
      options: { lingerMs: 1, maxBatchBytes: 16 * 1024, ackTimeoutMs: 60_000 },
    });
    const N = 20_000;
    const PER_SEND = 10;
    const keys = Array.from({ length: 50 }, (_, i) => `visitor-${i}`);
    const keyOf = (r: number): string => keys[r % keys.length]!;
    const payload = 'x'.repeat(200);
    const sends: Promise<unknown>[] = [];
    for (let s = 0; s < N / PER_SEND; s++) {
      const records = Array.from({ length: PER_SEND }, (_, j): PartitionedRecord => {
        const r = s * PER_SEND + j;
        return {
          key: keyOf(r),
          value: JSON.stringify({ r, payload }),
          partition: partitions.partition(topic, keyOf(r)),
        };
      });
      sends.push(batcher.send(topic, records));
      if (s % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
    }
    const outcomes = await Promise.allSettled(sends);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const stats = batcher.stats();
    expect(stats.failedBatches).toBe(0);
    expect(stats.records).toBe(N);
    expect(stats.batches).toBeGreaterThan(50); // many requests in a row, not one

    const messages = await readTopic(kafka, topic, (m) => m.length >= N);
    expect(messages).toHaveLength(N);
    const byKey = new Map<string, { offset: bigint; r: number }[]>();
    for (const m of messages) {
      const list = byKey.get(m.key!) ?? [];
      list.push({ offset: BigInt(m.offset), r: (JSON.parse(m.value) as { r: number }).r });
      byKey.set(m.key!, list);
    }
    expect(new Set(messages.map((m) => (JSON.parse(m.value) as { r: number }).r)).size).toBe(N);
    for (const list of byKey.values()) {
      const inKafkaOrder = list
        .sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
        .map((x) => x.r);
      expect(inKafkaOrder).toEqual([...inKafkaOrder].sort((a, b) => a - b));
    }
    await batcher.close();
  });
});

describe('the @platformatic/kafka producer (real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers, 'platformatic');

  it('keeps one send in flight: many concurrent sendBatch calls, no sequence error, key order kept', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    await producer.connect();
    try {
      const topic = randomName('platformatic-direct');
      await createTopic(admin, topic, 3);
      const CALLS = 200;
      const PER_CALL = 20;
      const calls = Array.from({ length: CALLS }, (_, c) =>
        producer.sendBatch({
          topicMessages: [
            {
              topic,
              messages: Array.from({ length: PER_CALL }, (_, j) => ({
                key: `k${j % 3}`,
                partition: j % 3,
                value: JSON.stringify({ r: c * PER_CALL + j }),
                headers: { 'intake-id': `id-${c}-${j}` },
              })),
            },
          ],
        }),
      );
      const outcomes = await Promise.allSettled(calls);
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      const messages = await readTopic(kafka, topic, (m) => m.length >= CALLS * PER_CALL);
      expect(messages).toHaveLength(CALLS * PER_CALL);
      for (const partition of [0, 1, 2]) {
        const rs = messages
          .filter((m) => m.partition === partition)
          .sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1))
          .map((m) => (JSON.parse(m.value) as { r: number }).r);
        expect(rs).toEqual([...rs].sort((a, b) => a - b));
      }
      expect(messages[0]!.headers['intake-id']).toMatch(/^id-/);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});

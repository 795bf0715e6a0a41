/**
 * The batching producer against a real broker: N concurrent sends are each delivered
 * exactly once, with the offsets it reported, in send order per key; with one producer,
 * and with three lanes (three producers) where one send spans several lanes.
 */
import type { Admin, Producer } from 'kafkajs';
import type { PartitionedRecord } from '../../../lib/kafka/batching-producer';
import { BatchingProducer } from '../../../lib/kafka/batching-producer';
import { createProducer } from '../../../lib/kafka/client';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { createTopic, randomName, readTopic, testKafka } from '../../support/kafka-helpers';
import { silentLogger } from '../../support/fakes';
import { TEST_BROKER } from '../../support/test-env';

describe('BatchingProducer (real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  let admin: Admin;
  let producers: Producer[];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producers = [createProducer(kafka), createProducer(kafka), createProducer(kafka)];
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
});

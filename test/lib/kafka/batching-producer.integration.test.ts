/**
 * The batching producer against a real broker: N concurrent sends are each delivered
 * exactly once, with the offsets it reported, in send order per key.
 */
import type { Admin, Producer } from 'kafkajs';
import { BatchingProducer } from '../../../lib/kafka/batching-producer';
import { createProducer } from '../../../lib/kafka/client';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { createTopic, randomName, readTopic, testKafka } from '../../support/kafka-helpers';
import { silentLogger } from '../../support/fakes';
import { TEST_BROKER } from '../../support/test-env';

describe('BatchingProducer (real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = createProducer(kafka);
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  it('delivers N concurrent sends exactly once each, in key order per partition, at the reported offsets', async () => {
    const topic = randomName('batching');
    await createTopic(admin, topic, 3);
    const partitions = new TopicPartitions();
    await partitions.refresh(admin, [topic]);
    const batcher = new BatchingProducer({
      producer,
      logger: silentLogger(),
      options: { lingerMs: 2 },
    });

    const N = 2000;
    const keys = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'];
    const sends = Array.from({ length: N }, (_, i) => {
      const key = keys[i % keys.length]!;
      return batcher.send(topic, [
        { key, value: JSON.stringify({ i, key }), partition: partitions.partition(topic, key) },
      ]);
    });
    const positions = (await Promise.all(sends)).map((p) => p[0]!);
    const stats = batcher.stats();
    expect(stats.records).toBe(N);
    expect(stats.batches).toBeLessThan(N / 5); // coalesced, not one request per send

    const messages = await readTopic(kafka, topic, (m) => m.length >= N);
    expect(messages).toHaveLength(N);
    const seen = new Map<number, { partition: number; offset: string }>();
    for (const m of messages) {
      const { i } = JSON.parse(m.value) as { i: number };
      expect(seen.has(i)).toBe(false);
      seen.set(i, { partition: m.partition, offset: m.offset });
    }
    // Each send resolved with the partition and offset where its record really is.
    positions.forEach((p, i) =>
      expect(seen.get(i)).toEqual({ partition: p.partition, offset: p.offset }),
    );
    // Per key, offsets grow in send order.
    for (const key of keys) {
      const offsets = positions
        .filter((_, i) => keys[i % keys.length] === key)
        .map((p) => BigInt(p.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    await batcher.close();
  });
});

/**
 * The sender's own partitioning must be Kafka's default (Java-compatible murmur2), as
 * kafkajs' DefaultPartitioner computes it: records already written by either, and every
 * other Kafka client, put one key on the same partition.
 */
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import type { PartitionMetadata } from 'kafkajs';
import { TopicPartitions, keyPartition } from '../../../../lib/kafka/partitioner';

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));

describe('keyPartition', () => {
  const kafkajs = Partitioners.DefaultPartitioner();
  const expected = (key: string, n: number): number =>
    kafkajs({ topic: 't', partitionMetadata: metadata(n), message: { key, value: null } });

  it('equals kafkajs DefaultPartitioner for any key (any length, any UTF-8)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 600 })),
        fc.integer({ min: 1, max: 1000 }),
        (key, n) => keyPartition(key, n) === expected(key, n),
      ),
      { numRuns: 2000 },
    );
  });

  it('known keys keep their partitions', () => {
    for (const key of ['', 'a', 'visitor-1', 'x'.repeat(341), 'é'.repeat(342)])
      expect(keyPartition(key, 6)).toBe(expected(key, 6));
  });

  it('TopicPartitions reads the count of the topic', () => {
    const p = new TopicPartitions();
    p.set('t', 12);
    expect(p.partition('t', 'visitor-7')).toBe(expected('visitor-7', 12));
    expect(() => p.partition('unknown', 'k')).toThrow(/refresh first/);
  });
});

/**
 * Explicit partitioning: the partition of a record is chosen here, with Kafka's default
 * (murmur2, Java-compatible) hash of the message key, so the sender knows each record's
 * partition and, from the broker's base offset, its exact offset. Partition counts come
 * from topic metadata, read once at start and on `refresh()`.
 */
import type { Admin } from './port';

export class TopicPartitions {
  private readonly counts = new Map<string, number>();

  /** Reads the partition count of each topic; throws when a topic does not exist. */
  async refresh(
    admin: Pick<Admin, 'fetchTopicMetadata'>,
    topics: readonly string[],
  ): Promise<void> {
    const metadata = await admin.fetchTopicMetadata([...topics]);
    for (const topic of metadata) this.counts.set(topic.name, topic.partitions.length);
  }

  set(topic: string, partitions: number): void {
    this.counts.set(topic, partitions);
  }

  /** Every known count, by topic (to hand to another thread). */
  counted(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  count(topic: string): number {
    const n = this.counts.get(topic);
    if (n === undefined)
      throw new Error(`partition count of topic ${topic} is not known (refresh first)`);
    return n;
  }

  /** The partition Kafka's default partitioner would choose for this key. */
  partition(topic: string, key: string): number {
    return keyPartition(key, this.count(topic));
  }
}

/**
 * Kafka's default partition of a key (Java's `Utils.murmur2` of its UTF-8 bytes, made
 * positive, modulo the partition count), as kafkajs' `DefaultPartitioner` computes it, in
 * 32-bit integer arithmetic instead of its emulated 64-bit longs (which showed in the edge's
 * CPU profile); a unit test holds the two equal.
 */
export function keyPartition(key: string, partitions: number): number {
  // At most 3 bytes of UTF-8 per UTF-16 unit: a key of up to 341 units fits the scratch.
  if (key.length > SCRATCH.length / 3) {
    const data = Buffer.from(key);
    return (murmur2(data, data.length) & 0x7fffffff) % partitions;
  }
  return (murmur2(SCRATCH, SCRATCH.write(key, 0)) & 0x7fffffff) % partitions;
}

const SCRATCH = Buffer.allocUnsafe(1024);
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

function murmur2(data: Buffer, length: number): number {
  let h = SEED ^ length;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[length4 + 2]! << 16;
    if (tail >= 2) h ^= data[length4 + 1]! << 8;
    h ^= data[length4]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h;
}

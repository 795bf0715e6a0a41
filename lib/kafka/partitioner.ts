/**
 * Explicit partitioning: the partition of a record is chosen here, with Kafka's default
 * (murmur2, Java-compatible) hash of the message key, so the sender knows each record's
 * partition and, from the broker's base offset, its exact offset. Partition counts come
 * from topic metadata, read once at start and on `refresh()`.
 */
import { Partitioners } from 'kafkajs';
import type { Admin, PartitionMetadata } from 'kafkajs';

export class TopicPartitions {
  private readonly counts = new Map<string, number>();
  private readonly hash = Partitioners.DefaultPartitioner();
  private readonly metadata = new Map<number, PartitionMetadata[]>();

  /** Reads the partition count of each topic; throws when a topic does not exist. */
  async refresh(admin: Admin, topics: readonly string[]): Promise<void> {
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] });
    for (const topic of metadata) this.counts.set(topic.name, topic.partitions.length);
  }

  set(topic: string, partitions: number): void {
    this.counts.set(topic, partitions);
  }

  count(topic: string): number {
    const n = this.counts.get(topic);
    if (n === undefined)
      throw new Error(`partition count of topic ${topic} is not known (refresh first)`);
    return n;
  }

  /** The partition Kafka's default partitioner would choose for this key. */
  partition(topic: string, key: string): number {
    const partitionMetadata = this.metadataOf(this.count(topic));
    return this.hash({ topic, partitionMetadata, message: { key, value: null } });
  }

  /** The partitioner only reads the ids; one array per partition count, not one per key. */
  private metadataOf(count: number): PartitionMetadata[] {
    let metadata = this.metadata.get(count);
    if (!metadata) {
      metadata = Array.from({ length: count }, (_, partitionId): PartitionMetadata => ({
        partitionId,
        leader: 0,
        replicas: [0],
        isr: [0],
        partitionErrorCode: 0,
      }));
      this.metadata.set(count, metadata);
    }
    return metadata;
  }
}

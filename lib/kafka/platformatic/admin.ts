/**
 * The port's admin calls on @platformatic/kafka. Offsets travel as Kafka's decimal texts,
 * as everywhere in Intake (the client's bigints are converted here). `createTopics` waits
 * until every new partition has a leader, as the kafkajs adapter's does.
 */
import type {
  Admin,
  GroupDescription,
  PartitionMetadata,
  PartitionOffsets,
  TopicSpec,
} from '../port';
import { translated } from './errors';
import type { Connection, Platformatic } from './load';
import { baseOptions, platformatic } from './load';

type Client = InstanceType<typeof Platformatic.Admin>;

/** Kafka's special timestamps of ListOffsets: the earliest and the next offset. */
const EARLIEST = -2n;
const LATEST = -1n;

export class PlatformaticAdmin implements Admin {
  private readonly client: Client;

  constructor(connection: Connection) {
    this.client = new (platformatic().Admin)(baseOptions(connection));
  }

  /** The client connects on its first request. */
  connect(): Promise<void> {
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    return translated('closing the admin client failed', () => this.client.close());
  }

  listTopics(): Promise<string[]> {
    return translated('listing the topics failed', () => this.client.listTopics());
  }

  createTopics(topics: TopicSpec[]): Promise<boolean> {
    return translated('creating the topics failed', async () => {
      const existing = new Set(await this.client.listTopics());
      let createdAll = true;
      for (const t of topics) {
        if (existing.has(t.topic)) {
          createdAll = false;
          continue;
        }
        await this.client.createTopics({
          topics: [t.topic],
          partitions: t.numPartitions,
          replicas: t.replicationFactor,
          configs: t.configEntries ?? [],
        });
      }
      await this.waitForLeaders(topics.map((t) => t.topic));
      return createdAll;
    });
  }

  private async waitForLeaders(topics: string[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const metadata = await this.client.metadata({ topics, forceUpdate: true }).catch(() => null);
      const led = topics.every((name) => {
        const t = metadata?.topics.get(name);
        return t !== undefined && t.partitions.every((p) => p.leader >= 0);
      });
      if (led) return;
      if (Date.now() > deadline) throw new Error(`no leaders for ${topics.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  fetchTopicMetadata(
    topics: string[],
  ): Promise<{ name: string; partitions: PartitionMetadata[] }[]> {
    return translated('reading the topic metadata failed', async () => {
      const metadata = await this.client.metadata({ topics, forceUpdate: true });
      return topics.map((name) => {
        const t = metadata.topics.get(name);
        if (!t) throw new Error(`topic ${name} does not exist`);
        return {
          name,
          partitions: t.partitions.map((p, partitionId) => ({
            partitionId,
            leader: p.leader,
            replicas: p.replicas,
            isr: p.isr,
          })),
        };
      });
    });
  }

  fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    return translated(`reading the offsets of ${topic} failed`, async () => {
      const [low, high] = await Promise.all([
        this.offsetsAt(topic, EARLIEST),
        this.offsetsAt(topic, LATEST),
      ]);
      return [...high].map(([partition, offset]) => ({
        partition,
        low: (low.get(partition) ?? 0n).toString(),
        high: offset.toString(),
      }));
    });
  }

  fetchTopicOffsetsByTimestamp(
    topic: string,
    timestampMs: number,
  ): Promise<{ partition: number; offset: string }[]> {
    return translated(`reading the offsets of ${topic} by time failed`, async () => {
      const [at, ends] = await Promise.all([
        this.offsetsAt(topic, BigInt(timestampMs)),
        this.offsetsAt(topic, LATEST),
      ]);
      // The broker answers -1 where no record is that recent: the partition's end then.
      return [...at].map(([partition, offset]) => ({
        partition,
        offset: (offset < 0n ? (ends.get(partition) ?? 0n) : offset).toString(),
      }));
    });
  }

  /** Each partition's offset at `timestamp` (or EARLIEST, LATEST; -1 when none). */
  private async offsetsAt(topic: string, timestamp: bigint): Promise<Map<number, bigint>> {
    const metadata = await this.client.metadata({ topics: [topic] });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const [listed] = await this.client.listOffsets({
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: count }, (_, partitionIndex) => ({
            partitionIndex,
            timestamp,
          })),
        },
      ],
      isolationLevel: platformatic().FetchIsolationLevels.READ_COMMITTED,
    });
    return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, p.offset]));
  }

  fetchOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]> {
    return translated(`reading the offsets of group ${groupId} failed`, async () => {
      const metadata = await this.client.metadata({ topics: [topic] });
      const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
      const [group] = await this.client.listConsumerGroupOffsets({
        groups: [
          {
            groupId,
            topics: [{ name: topic, partitionIndexes: Array.from({ length: count }, (_, i) => i) }],
          },
        ],
      });
      const committed = new Map(
        (group?.topics.find((t) => t.name === topic)?.partitions ?? []).map((p) => [
          p.partitionIndex,
          p.committedOffset,
        ]),
      );
      return Array.from({ length: count }, (_, partition) => ({
        partition,
        offset: (committed.get(partition) ?? -1n).toString(),
      }));
    });
  }

  setOffsets(
    groupId: string,
    topic: string,
    partitions: { partition: number; offset: string }[],
  ): Promise<void> {
    return translated(`setting the offsets of group ${groupId} failed`, () =>
      this.client.alterConsumerGroupOffsets({
        groupId,
        topics: [
          {
            name: topic,
            partitionOffsets: partitions.map((p) => ({
              partition: p.partition,
              offset: BigInt(p.offset),
            })),
          },
        ],
      }),
    );
  }

  listGroups(): Promise<string[]> {
    return translated('listing the groups failed', async () => [
      ...(await this.client.listGroups()).keys(),
    ]);
  }

  describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return translated('describing the groups failed', async () =>
      [...(await this.client.describeGroups({ groups: groupIds })).values()].map((g) => ({
        groupId: g.id,
        state: String(g.state),
        members: [...g.members.values()].map((m) => ({ memberId: m.id, clientId: m.clientId })),
      })),
    );
  }

  deleteGroups(groupIds: string[]): Promise<void> {
    return translated('deleting the groups failed', () =>
      this.client.deleteGroups({ groups: groupIds }),
    );
  }

  deleteTopicRecords(
    topic: string,
    partitions: { partition: number; offset: string }[],
  ): Promise<void> {
    return translated(`deleting records of ${topic} failed`, async () => {
      await this.client.deleteRecords({
        topics: [
          {
            name: topic,
            partitions: partitions.map((p) => ({
              partition: p.partition,
              offset: BigInt(p.offset),
            })),
          },
        ],
      });
    });
  }

  describeTopicConfigs(
    topics: string[],
    names: string[],
  ): Promise<Record<string, Record<string, string>>> {
    return translated('describing the topic configs failed', async () => {
      const described = await this.client.describeConfigs({
        resources: topics.map((resourceName) => ({
          resourceType: platformatic().ConfigResourceTypes.TOPIC,
          resourceName,
          configurationKeys: names,
        })),
      });
      const values: Record<string, Record<string, string>> = {};
      for (const r of described)
        values[r.resourceName] = Object.fromEntries(r.configs.map((c) => [c.name, c.value ?? '']));
      return values;
    });
  }
}

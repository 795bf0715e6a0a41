/** The port's admin calls on kafkajs. */
import type { Admin as KafkajsAdmin } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import type {
  Admin,
  GroupDescription,
  PartitionMetadata,
  PartitionOffsets,
  TopicSpec,
} from '../port';
import { translated } from './errors';

export class KafkajsAdminPort implements Admin {
  constructor(private readonly admin: KafkajsAdmin) {}

  connect(): Promise<void> {
    return translated('connecting the admin client failed', () => this.admin.connect());
  }

  disconnect(): Promise<void> {
    return translated('disconnecting the admin client failed', () => this.admin.disconnect());
  }

  listTopics(): Promise<string[]> {
    return translated('listing the topics failed', () => this.admin.listTopics());
  }

  createTopics(topics: TopicSpec[]): Promise<boolean> {
    return translated('creating the topics failed', () =>
      this.admin.createTopics({ topics, waitForLeaders: true }),
    );
  }

  fetchTopicMetadata(
    topics: string[],
  ): Promise<{ name: string; partitions: PartitionMetadata[] }[]> {
    return translated('reading the topic metadata failed', async () => {
      const { topics: metadata } = await this.admin.fetchTopicMetadata({ topics });
      return metadata.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionId: p.partitionId,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
        })),
      }));
    });
  }

  fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    return translated(`reading the offsets of ${topic} failed`, async () =>
      (await this.admin.fetchTopicOffsets(topic)).map((p) => ({
        partition: p.partition,
        low: p.low,
        high: p.high,
      })),
    );
  }

  fetchTopicOffsetsByTimestamp(
    topic: string,
    timestampMs: number,
  ): Promise<{ partition: number; offset: string }[]> {
    return translated(`reading the offsets of ${topic} by time failed`, () =>
      this.admin.fetchTopicOffsetsByTimestamp(topic, timestampMs),
    );
  }

  fetchOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]> {
    return translated(`reading the offsets of group ${groupId} failed`, async () => {
      const [entry] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
      return (entry?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset }));
    });
  }

  setOffsets(
    groupId: string,
    topic: string,
    partitions: { partition: number; offset: string }[],
  ): Promise<void> {
    return translated(`setting the offsets of group ${groupId} failed`, () =>
      this.admin.setOffsets({ groupId, topic, partitions }),
    );
  }

  listGroups(): Promise<string[]> {
    return translated('listing the groups failed', async () =>
      (await this.admin.listGroups()).groups.map((g) => g.groupId),
    );
  }

  describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return translated('describing the groups failed', async () =>
      (await this.admin.describeGroups(groupIds)).groups.map((g) => ({
        groupId: g.groupId,
        state: g.state,
        members: g.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId })),
      })),
    );
  }

  deleteGroups(groupIds: string[]): Promise<void> {
    return translated('deleting the groups failed', async () => {
      await this.admin.deleteGroups(groupIds);
    });
  }

  deleteTopicRecords(
    topic: string,
    partitions: { partition: number; offset: string }[],
  ): Promise<void> {
    return translated(`deleting records of ${topic} failed`, () =>
      this.admin.deleteTopicRecords({ topic, partitions }),
    );
  }

  describeTopicConfigs(
    topics: string[],
    names: string[],
  ): Promise<Record<string, Record<string, string>>> {
    return translated('describing the topic configs failed', async () => {
      const { resources } = await this.admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({
          type: ConfigResourceTypes.TOPIC,
          name,
          configNames: names,
        })),
      });
      const values: Record<string, Record<string, string>> = {};
      for (const r of resources)
        values[r.resourceName] = Object.fromEntries(
          r.configEntries.map((e) => [e.configName, e.configValue]),
        );
      return values;
    });
  }
}

/**
 * The admin calls the fleet uses, on each Kafka client's adapter, against a real broker:
 * topics (create, list, metadata, configs), offsets (ends, by time, a group's committed
 * ones, set), groups (list, describe with members, delete), record deletion; a client's
 * failure arrives as an IntakeError.
 */
import { IntakeError } from '../../../lib/errors';
import { KAFKA_CLIENTS } from '../../../lib/kafka/port';
import { withRetry } from '../../../lib/retry';
import type { Admin, Consumer } from '../../../lib/kafka/port';
import { randomName, sendRecords, testKafka, waitFor } from '../../support/kafka-helpers';
import { TEST_BROKER } from '../../support/test-env';

describe.each(KAFKA_CLIENTS)('admin calls on %s (real broker)', (client) => {
  const kafka = testKafka(TEST_BROKER.brokers, client);
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('creates topics with their settings (once), lists them, reads their metadata and configs', async () => {
    const topic = randomName(`admin-${client}`);
    const spec = {
      topic,
      numPartitions: 3,
      replicationFactor: 1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    };
    expect(await admin.createTopics([spec])).toBe(true);
    expect(await admin.createTopics([spec])).toBe(false);
    expect(await admin.listTopics()).toContain(topic);
    const [metadata] = await admin.fetchTopicMetadata([topic]);
    expect(metadata!.name).toBe(topic);
    expect(metadata!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    expect(metadata!.partitions.every((p) => p.leader >= 0 && p.isr.length === 1)).toBe(true);
    expect(await admin.describeTopicConfigs([topic], ['cleanup.policy'])).toEqual({
      [topic]: { 'cleanup.policy': 'compact' },
    });
  });

  it('reads topic ends and offsets by time, sets and reads a group offsets, deletes records', async () => {
    const topic = randomName(`offsets-${client}`);
    await admin.createTopics([{ topic, numPartitions: 2, replicationFactor: 1 }]);
    const producer = kafka.producer();
    await producer.connect();
    const before = Date.now();
    await sendRecords(
      producer,
      topic,
      Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })),
    );
    await producer.disconnect();
    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.sort((a, b) => a.partition - b.partition)).toEqual([
      { partition: 0, low: '0', high: '3' },
      { partition: 1, low: '0', high: '3' },
    ]);
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, before - 1000);
    expect(byTime.map((o) => o.offset)).toEqual(['0', '0']);
    const later = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 60_000);
    expect(later.map((o) => o.offset)).toEqual(['3', '3']); // none that recent: the end

    const groupId = randomName('admin-group');
    // As the fleet does: a new group's coordinator may not be ready yet (retriable).
    const none = await withRetry(() => admin.fetchOffsets(groupId, topic));
    expect(none.map((o) => o.offset)).toEqual(['-1', '-1']);
    await admin.setOffsets(groupId, topic, [
      { partition: 0, offset: '2' },
      { partition: 1, offset: '1' },
    ]);
    expect(await admin.fetchOffsets(groupId, topic)).toEqual([
      { partition: 0, offset: '2' },
      { partition: 1, offset: '1' },
    ]);

    await admin.deleteTopicRecords(topic, [{ partition: 0, offset: '2' }]);
    const after = await admin.fetchTopicOffsets(topic);
    expect(after.find((o) => o.partition === 0)).toEqual({ partition: 0, low: '2', high: '3' });
  });

  it('lists and describes groups with their members, and deletes an empty group', async () => {
    const topic = randomName(`groups-${client}`);
    await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    const groupId = randomName('admin-members');
    const consumer: Consumer = kafka.consumer({ groupId });
    const joined = new Promise<void>((resolve) => consumer.onGroupJoin(() => resolve()));
    await consumer.connect();
    await consumer.subscribe(topic);
    await consumer.run({ eachBatch: () => Promise.resolve() });
    await joined;
    expect(await admin.listGroups()).toContain(groupId);
    const [described] = await admin.describeGroups([groupId]);
    expect(described).toMatchObject({ groupId, state: expect.stringMatching(/stable/i) });
    expect(described!.members).toHaveLength(1);
    await consumer.disconnect();
    await waitFor(async () => (await admin.describeGroups([groupId]))[0]?.members.length === 0, {
      what: 'the group to be empty',
    });
    await admin.deleteGroups([groupId]);
    await waitFor(async () => !(await admin.listGroups()).includes(groupId), {
      what: 'the group to be gone',
    });
  });

  it("answers a client's failure with an IntakeError", async () => {
    const error = await admin.fetchTopicMetadata([randomName('missing')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntakeError);
  });
});

import { IntakeError } from '../../../lib/errors';
import { readPartitions } from '../../../services/worker/state/read-partitions';
import { FakeKafka } from '../../support/fakes';
import type { FakeRecord } from '../../support/fakes';

const rec = (key: string, n: number): FakeRecord => ({ key, value: JSON.stringify({ n }) });

/** Every throwaway group the read created was deleted, and every client disconnected. */
function expectCleanedUp(fake: FakeKafka): void {
  const groups = fake.consumers.map((c) => c.groupId);
  expect(fake.admins).toHaveLength(1);
  const [admin] = fake.admins;
  expect(admin?.connected).toBe(true);
  expect(admin?.disconnected).toBe(true);
  for (const group of groups) expect(admin?.deletedGroups).toContain(group);
  for (const consumer of fake.consumers) expect(consumer.disconnected).toBe(true);
}

describe('readPartitions', () => {
  it('reads the wanted partitions from the beginning, and only those', async () => {
    const fake = new FakeKafka();
    fake.data.set(0, [rec('a', 1), rec('b', 2)]);
    fake.data.set(1, [rec('c', 3)]);
    fake.data.set(2, [rec('d', 4), rec('a', 5)]);

    const records = await readPartitions(fake.kafka, 'scores', [0, 2]);

    expect(records).toEqual([
      { partition: 0, key: 'a', value: { n: 1 } },
      { partition: 0, key: 'b', value: { n: 2 } },
      { partition: 2, key: 'd', value: { n: 4 } },
      { partition: 2, key: 'a', value: { n: 5 } },
    ]);
    expect(fake.offsetFetches).toEqual(['scores']);
    expect(fake.consumers).toHaveLength(1);
    expect(fake.consumers[0]?.groupId).toMatch(/^intake-restore-/);
    expect(fake.consumers[0]?.subscriptions).toEqual([{ topic: 'scores', fromBeginning: true }]);
    expect(fake.consumers[0]?.runConfig?.autoCommit ?? false).toBe(false);
    expectCleanedUp(fake);
  });

  it('uses a fresh throwaway group for every read', async () => {
    const fake = new FakeKafka();
    fake.data.set(0, [rec('a', 1)]);
    await readPartitions(fake.kafka, 'scores', [0]);
    await readPartitions(fake.kafka, 'scores', [0]);
    const [first, second] = fake.consumers.map((c) => c.groupId);
    expect(first).not.toEqual(second);
    expect(fake.admins.map((a) => a.deletedGroups)).toEqual([[first], [second]]);
  });

  it('stops at the end offsets captured when the read started', async () => {
    const fake = new FakeKafka();
    fake.autoServe = false;
    fake.offsets = [
      { partition: 0, low: '0', high: '2' },
      { partition: 1, low: '0', high: '1' },
    ];
    const reading = readPartitions(fake.kafka, 'scores', [0, 1]);
    const consumer = await fake.nextRun();
    // Records written after the read started (offsets >= the captured end) are not kept.
    await consumer.batch(0, 0, [rec('a', 1), rec('b', 2), rec('late', 3), rec('later', 4)]);
    await consumer.batch(1, 0, [rec('c', 5), rec('late', 6)]);

    const records = await reading;
    expect(records.map((r) => `${r.partition}/${r.key}`)).toEqual(['0/a', '0/b', '1/c']);
    expectCleanedUp(fake);
  });

  it('finishes a partition over several batches, and only once all partitions reached their end', async () => {
    const fake = new FakeKafka();
    fake.autoServe = false;
    fake.offsets = [
      { partition: 0, low: '0', high: '3' },
      { partition: 1, low: '0', high: '1' },
    ];
    let done = false;
    const reading = readPartitions(fake.kafka, 'scores', [0, 1]).then((records) => {
      done = true;
      return records;
    });
    const consumer = await fake.nextRun();
    await consumer.batch(0, 0, [rec('a', 1), rec('b', 2)]);
    await consumer.batch(1, 0, [rec('c', 3)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false); // partition 0 is one record short of its end
    await consumer.batch(0, 2, [rec('d', 4)]);

    expect((await reading).map((r) => r.key)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('starts at the low offset of a compacted partition and skips tombstones', async () => {
    const fake = new FakeKafka();
    fake.autoServe = false;
    fake.offsets = [{ partition: 0, low: '5', high: '8' }];
    const reading = readPartitions(fake.kafka, 'scores', [0]);
    const consumer = await fake.nextRun();
    await consumer.batch(0, 5, [rec('a', 1), { key: 'b', value: null }, rec('c', 3)]);

    expect((await reading).map((r) => r.key)).toEqual(['a', 'c']);
  });

  it('ignores batches of partitions it does not want', async () => {
    const fake = new FakeKafka();
    fake.autoServe = false;
    fake.offsets = [
      { partition: 0, low: '0', high: '1' },
      { partition: 1, low: '0', high: '1' },
    ];
    const reading = readPartitions(fake.kafka, 'scores', [1]);
    const consumer = await fake.nextRun();
    await consumer.batch(0, 0, [rec('not-mine', 1)]);
    await consumer.batch(1, 0, [rec('mine', 2)]);

    expect(await reading).toEqual([{ partition: 1, key: 'mine', value: { n: 2 } }]);
  });

  it('returns [] without any client when no partition is wanted', async () => {
    const fake = new FakeKafka();
    fake.data.set(0, [rec('a', 1)]);
    expect(await readPartitions(fake.kafka, 'scores', [])).toEqual([]);
    expect(fake.admins).toHaveLength(0);
    expect(fake.consumers).toHaveLength(0);
  });

  it('returns [] without a consumer when the wanted partitions are empty or compacted away', async () => {
    const fake = new FakeKafka();
    fake.offsets = [
      { partition: 0, low: '0', high: '0' },
      { partition: 1, low: '7', high: '7' },
      { partition: 2, low: '0', high: '4' },
    ];
    expect(await readPartitions(fake.kafka, 'scores', [0, 1, 3])).toEqual([]);
    expect(fake.consumers).toHaveLength(0);
    expect(fake.admins[0]?.disconnected).toBe(true);
  });

  it('retries a retriable failure to fetch the end offsets', async () => {
    const fake = new FakeKafka();
    fake.data.set(0, [rec('a', 1)]);
    fake.fetchOffsetsFailures.push(new IntakeError('KAFKA_UNAVAILABLE', 'broker down'));

    expect(await readPartitions(fake.kafka, 'scores', [0])).toHaveLength(1);
    expect(fake.offsetFetches).toHaveLength(2);
  });

  it('fails on a non-retriable offset fetch failure, and still disconnects', async () => {
    const fake = new FakeKafka();
    fake.data.set(0, [rec('a', 1)]);
    fake.fetchOffsetsFailures.push(new Error('topic does not exist'));

    await expect(readPartitions(fake.kafka, 'scores', [0])).rejects.toThrow('topic does not exist');
    expect(fake.offsetFetches).toHaveLength(1);
    expect(fake.consumers).toHaveLength(0);
    expect(fake.admins[0]?.disconnected).toBe(true);
  });

  it('times out with an error naming the partitions that did not reach their end', async () => {
    const fake = new FakeKafka();
    fake.autoServe = false;
    fake.offsets = [
      { partition: 0, low: '0', high: '1' },
      { partition: 1, low: '0', high: '2' },
      { partition: 2, low: '0', high: '3' },
    ];
    const reading = readPartitions(fake.kafka, 'scores', [0, 1, 2], 20);
    const consumer = await fake.nextRun();
    await consumer.batch(0, 0, [rec('a', 1)]);
    await consumer.batch(1, 0, [rec('b', 2)]); // one record short

    await expect(reading).rejects.toThrow('restoring scores timed out for partitions 1, 2');
    expectCleanedUp(fake);
  });

  it('still disconnects when deleting its group fails', async () => {
    const fake = new FakeKafka();
    fake.data.set(0, [rec('a', 1)]);
    fake.deleteGroupsError = new Error('group not empty');

    expect(await readPartitions(fake.kafka, 'scores', [0])).toHaveLength(1);
    expectCleanedUp(fake);
  });
});

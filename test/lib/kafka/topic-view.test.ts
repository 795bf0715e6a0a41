/**
 * TopicView's `current()` on a fake client: it waits only for the partitions asked for,
 * and keeps one admin connection for all its calls (closed by `stop()`).
 */
import { TopicView, memoryStore } from '../../../lib/kafka/topic-view';
import { hasCode } from '../../../lib/errors';
import { FakeKafka, silentLogger } from '../../support/fakes';

async function startedView(fake: FakeKafka): Promise<TopicView<string>> {
  const view = new TopicView<string>({
    kafka: fake.kafka,
    topic: 'progress',
    store: memoryStore(),
    logger: silentLogger(),
    parse: (value) => value.toString(),
  });
  await view.start();
  return view;
}

describe('TopicView.current()', () => {
  it('waits only for the partitions it is given; without them, for every partition', async () => {
    const fake = new FakeKafka();
    fake.autoServe = false;
    fake.data.set(0, [{ key: 'a', value: 'a1' }]);
    fake.data.set(1, [{ key: 'b', value: 'b1' }]);
    const view = await startedView(fake);
    const consumer = fake.consumers[0]!;
    await consumer.batch(0, 0, fake.data.get(0)!);

    await view.current(1_000, [0]);
    expect(view.get('a')).toBe('a1');
    const all = await view.current(50).then(
      () => null,
      (err: unknown) => err,
    );
    expect(hasCode(all, 'KAFKA_UNAVAILABLE')).toBe(true);

    await consumer.batch(1, 0, fake.data.get(1)!);
    await view.current(1_000);
    expect(view.get('b')).toBe('b1');
    await view.stop();
  });

  it('keeps one admin connection for its calls, drops a failed one, and closes it at stop', async () => {
    const fake = new FakeKafka();
    fake.data.set(0, [{ key: 'a', value: 'a1' }]);
    const view = await startedView(fake);
    await view.ready();
    const atStart = fake.admins.length;

    await view.current(1_000);
    await view.current(1_000);
    expect(fake.admins.length).toBe(atStart + 1);
    const kept = fake.admins[atStart]!;
    expect(kept.disconnected).toBe(false);

    fake.fetchOffsetsFailures.push(new Error('broker gone'));
    await expect(view.current(1_000)).rejects.toThrow('broker gone');
    expect(kept.disconnected).toBe(true);
    await view.current(1_000);
    expect(fake.admins.length).toBe(atStart + 2);

    await view.stop();
    const last = fake.admins[atStart + 1]!;
    expect(last.deletedGroups).toHaveLength(1);
    expect(last.disconnected).toBe(true);
    expect(fake.admins.length).toBe(atStart + 2);
  });
});

import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { DeliveryProgress } from '../../../services/worker/outbound/progress';
import {
  ProgressPublisher,
  parseProgressRecord,
} from '../../../services/worker/outbound/progress-publisher';
import type { ProgressRecord } from '../../../services/worker/outbound/progress-publisher';
import { silentLogger } from '../../support/fakes';

describe('ProgressPublisher', () => {
  it('publishes each partition whose position changed, also one a rebalance took away, and nothing unchanged', async () => {
    const sent: ProgressRecord[] = [];
    const progress = new DeliveryProgress();
    const partitions = new TopicPartitions();
    partitions.set('progress', 1);
    const publisher = new ProgressPublisher({
      producer: {
        send: ({ messages }) => {
          sent.push(...messages.map((m) => JSON.parse(String(m.value)) as ProgressRecord));
          return Promise.resolve([]);
        },
      },
      progress,
      partitions,
      rawTopic: 'raw',
      progressTopic: 'progress',
      worker: 'w1',
      logger: silentLogger(),
      intervalMs: 1000,
    });
    progress.committed(3, new Map([[9n, 2]]), 9n); // offset 9 produced 2 records, in the log
    await publisher.publish();
    expect(sent).toEqual([
      expect.objectContaining({
        partition: 3,
        deliveredUpTo: '9',
        committedNext: '10',
        worker: 'w1',
      }),
    ]);
    expect(progress.hasPending(3)).toBe(true);

    // Partition 3 moved to another worker; its records are acknowledged afterwards.
    progress.acknowledged(3, 9n);
    progress.acknowledged(3, 9n);
    await publisher.publish();
    expect(sent[1]).toEqual(expect.objectContaining({ partition: 3, deliveredUpTo: '10' }));
    expect(progress.hasPending(3)).toBe(false);

    await publisher.publish();
    expect(sent).toHaveLength(2);
  });
});

describe('parseProgressRecord', () => {
  const record = {
    topic: 'raw',
    partition: 0,
    deliveredUpTo: '5',
    committedNext: '7',
    worker: 'w',
  };

  it('reads back what the publisher writes', () => {
    expect(parseProgressRecord(Buffer.from(JSON.stringify(record)))).toEqual(record);
  });

  it.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['an offset that is not a number', JSON.stringify({ ...record, deliveredUpTo: 'x' })],
    ['no worker', JSON.stringify({ ...record, worker: undefined })],
    ['a number for an offset', JSON.stringify({ ...record, committedNext: 7 })],
  ])('throws on %s, so a view skips it', (_, text) => {
    expect(() => parseProgressRecord(Buffer.from(text))).toThrow();
  });
});

import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { DeliveryProgress } from '../../../services/worker/outbound/progress';
import { parseProgress } from '../../../lib/records/progress';
import type { ProgressRecord } from '../../../lib/records/progress';
import { Outputs } from '../../../services/worker/outbound/outputs';
import { ProgressPublisher } from '../../../services/worker/outbound/progress-publisher';
import { outboundRecord, silentLogger } from '../../support/fakes';

describe('ProgressPublisher', () => {
  it('publishes each partition whose position changed, also one a rebalance took away, and nothing unchanged', async () => {
    const sent: ProgressRecord[] = [];
    const progress = new DeliveryProgress();
    const partitions = new TopicPartitions();
    partitions.set('progress', 1);
    const publisher = new ProgressPublisher({
      producer: {
        sendBatch: ({ topicMessages }) => {
          for (const { messages } of topicMessages)
            sent.push(...messages.map((m) => parseProgress(m.value as string)));
          return Promise.resolve([]);
        },
      },
      progress,
      outputs: new Outputs(
        { processed: 'out', dlq: 'dead', replies: 'replies', progress: 'progress' },
        partitions,
      ),
      rawTopic: 'raw',
      worker: 'w1',
      logger: silentLogger(),
      intervalMs: 1000,
    });
    const from9 = [1, 2].map((i) => outboundRecord(i, { source: { partition: 3, offset: '9' } }));
    progress.committed(3, from9, 9n); // offset 9 produced 2 records, in the log
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
    progress.acknowledged(from9.slice(0, 1));
    progress.acknowledged(from9.slice(1));
    await publisher.publish();
    expect(sent[1]).toEqual(expect.objectContaining({ partition: 3, deliveredUpTo: '10' }));
    expect(progress.hasPending(3)).toBe(false);

    await publisher.publish();
    expect(sent).toHaveLength(2);
  });
});

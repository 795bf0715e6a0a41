/**
 * HML's committed progress: a claim's read waits for the view to catch up with the one
 * progress partition its raw partition's records go to (its key's), then reads the record.
 */
import { TopicPartitions } from '../../../../lib/kafka/partitioner';
import { progressKey } from '../../../../lib/records/progress';
import type { ProgressRecord } from '../../../../lib/records/progress';
import { CommittedProgress } from '../../../../services/worker/delivery/hml/committed-progress';
import { Outputs } from '../../../../services/worker/outbound/outputs';

describe('CommittedProgress', () => {
  it("waits for its record's progress partition only, then reads the record", async () => {
    const partitions = new TopicPartitions();
    for (const topic of ['out', 'dead', 'replies', 'progress']) partitions.set(topic, 5);
    const outputs = new Outputs(
      { processed: 'out', dlq: 'dead', replies: 'replies', progress: 'progress' },
      partitions,
    );
    const waited: (readonly number[] | undefined)[] = [];
    const records = new Map<string, ProgressRecord>();
    const progress = new CommittedProgress({
      view: {
        start: () => Promise.resolve(),
        stop: () => Promise.resolve(),
        current: (_timeoutMs: number, only?: readonly number[]) => {
          waited.push(only);
          return Promise.resolve();
        },
        get: (key: string) => records.get(key),
      },
      outputs,
      rawTopic: 'raw',
      worker: 'w',
      catchUpTimeoutMs: 1_000,
    });

    for (let raw = 0; raw < 6; raw++) {
      const written = progress.record(raw, String(100 + raw));
      const at = partitions.partition('progress', progressKey('raw', raw));
      expect(written.partition).toBe(at);
      expect(await progress.committedNext(raw)).toBeUndefined();
      expect(waited.pop()).toEqual([at]);
    }
    records.set(progressKey('raw', 3), {
      topic: 'raw',
      partition: 3,
      deliveredUpTo: '42',
      committedNext: '42',
      worker: 'w',
      at: '',
    });
    expect(await progress.committedNext(3)).toBe(42n);
  });
});

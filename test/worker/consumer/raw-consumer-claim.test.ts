/**
 * HML: what the consumer does with the records a claim finds committed already (by a fenced
 * zombie, or by this worker's own transaction whose answer was lost); and a worker that
 * the group dropped while it stalled processes nothing before it learns so.
 */
import { IntakeError } from '../../../lib/errors';
import type { ConsumedRecord } from '../../../lib/kafka/port';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { createRegistry } from '../../../lib/metrics';
import { RawConsumer } from '../../../services/worker/consumer/raw-consumer';
import { RecentIds } from '../../../services/worker/consumer/recent-ids';
import { HmlDelivery } from '../../../services/worker/delivery/hml/hml-delivery';
import { createWorkerMetrics } from '../../../services/worker/metrics';
import { DeliveryProgress } from '../../../services/worker/outbound/progress';
import type { OutboundRecord } from '../../../services/worker/outbound/record';
import { Outputs } from '../../../services/worker/outbound/outputs';
import type { TransactionalDelivery } from '../../../services/worker/delivery/hml/transactions';
import { LocalProcessing } from '../../../services/worker/processing/local-processing';
import { Pipeline } from '../../../services/worker/pipeline/pipeline';
import { passThroughStep } from '../../../services/worker/pipeline/steps/pass-through-step';
import { FakeKafka, silentLogger } from '../../support/fakes';
import { rawMessage } from '../../support/raw-message';

const message = (offset: number): ConsumedRecord =>
  rawMessage({ id: `e${offset}`, type: 'page_view', key: 'visitor-1' }, offset, {
    timestamp: 1000,
  });

/** The consumer's batch context for one batch of raw partition 0 at these offsets. */
function payload(
  offsets: number[],
  heartbeat: () => Promise<void>,
  resolveOffset: (offset: string) => void = () => undefined,
): never {
  const last = String(offsets[offsets.length - 1]);
  return {
    batch: {
      topic: 'raw',
      partition: 0,
      messages: offsets.map(message),
      lastOffset: () => last,
      highWatermark: String(Number(last) + 1),
    },
    resolveOffset,
    heartbeat,
    isRunning: () => true,
    isStale: () => false,
  } as never;
}

function rawConsumer(transactions: TransactionalDelivery, recentIds: RecentIds) {
  const partitions = new TopicPartitions();
  partitions.set('out', 2);
  partitions.set('dead', 2);
  partitions.set('replies', 2);
  const outputs = new Outputs({ processed: 'out', dlq: 'dead', replies: 'replies' }, partitions);
  const consumer = new FakeKafka().consumer({ groupId: 'g' });
  const raw = new RawConsumer({
    consumer,
    delivery: new HmlDelivery({ transactions, progress: new DeliveryProgress() }),
    processing: new LocalProcessing({
      pipeline: new Pipeline([passThroughStep('w')]),
      recentIds,
      outputs,
    }),
    rawTopic: 'raw',
    metrics: createWorkerMetrics(createRegistry('worker', 'claim-test')),
    logger: silentLogger(),
    partitionsConsumedConcurrently: 1,
    maxRecordsPerChunk: 100,
  });
  return { raw, consumer };
}

describe('RawConsumer with transactions (HML)', () => {
  it('skips the records below the claimed offset, and remembers their ids as processed', async () => {
    const committed: OutboundRecord[][] = [];
    const transactions = {
      assigned: () => undefined,
      claim: () => Promise.resolve(5n),
      commit: (_p: number, records: OutboundRecord[]) => {
        committed.push(records);
        return Promise.resolve(true);
      },
    } as unknown as TransactionalDelivery;
    const recentIds = new RecentIds({ windowMs: 60_000, maxPerPartition: 100 });
    const { raw, consumer } = rawConsumer(transactions, recentIds);
    await raw.start();
    const resolved: string[] = [];
    await consumer.runConfig!.eachBatch(
      payload(
        [3, 4, 5, 6],
        () => Promise.resolve(),
        (offset) => resolved.push(offset),
      ),
    );

    expect(committed.map((records) => records.map((r) => r.source.offset))).toEqual([['5', '6']]);
    expect(resolved).toEqual(['6']);
    // e3 and e4 were committed by someone else: a retry of them must be skipped too.
    expect(['e3', 'e4', 'e5', 'e6'].map((id) => recentIds.has(0, id, 1000))).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it('a worker the group dropped while it stalled learns it before processing a chunk', async () => {
    const committed: OutboundRecord[][] = [];
    const transactions = {
      assigned: () => undefined,
      claim: () => Promise.resolve(0n),
      commit: (_p: number, records: OutboundRecord[]) => {
        committed.push(records);
        return Promise.resolve(true);
      },
    } as unknown as TransactionalDelivery;
    const recentIds = new RecentIds({ windowMs: 60_000, maxPerPartition: 100 });
    const { raw, consumer } = rawConsumer(transactions, recentIds);
    await raw.start();
    const refused = new IntakeError(
      'KAFKA_NOT_MEMBER',
      'the heartbeat failed: The coordinator is not aware of this member',
    );
    await expect(
      consumer.runConfig!.eachBatch(payload([0, 1], () => Promise.reject(refused))),
    ).rejects.toBe(refused);
    expect(committed).toEqual([]);
    expect(recentIds.has(0, 'e0', 1000)).toBe(false);
  });
});

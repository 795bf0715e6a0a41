/**
 * Reads topics from a start (the beginning, or the offsets at a time) up to the ends they
 * had when the scan began, so a scan of a live fleet terminates. A throwaway consumer
 * group that never commits; transaction markers count toward the end (the last offset of
 * a batch, and batches of markers only, seen through `onBatchEnd`).
 */
import { randomUUID } from 'node:crypto';
import type { ConsumedRecord, KafkaClient } from '../../../lib/kafka/port';

export interface ScanOptions {
  /** Start at the offsets of this time (ms since the epoch) instead of the beginning. */
  sinceMs?: number;
  onProgress?: (read: number, total: number) => void;
}

export async function scanTopics(
  kafka: KafkaClient,
  topics: string[],
  onMessage: (topic: string, partition: number, message: ConsumedRecord) => void,
  options: ScanOptions = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  const starts = new Map<string, bigint>();
  let total = 0n;
  try {
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      const from = options.sinceMs
        ? await admin.fetchTopicOffsetsByTimestamp(topic, options.sinceMs)
        : offsets.map((o) => ({ partition: o.partition, offset: o.low }));
      for (const o of offsets) {
        const start = BigInt(from.find((f) => f.partition === o.partition)?.offset ?? o.low);
        const first = start < 0n ? BigInt(o.high) : start; // -1: nothing since that time
        if (BigInt(o.high) > first) {
          ends.set(`${topic}/${o.partition}`, BigInt(o.high));
          starts.set(`${topic}/${o.partition}`, first);
          total += BigInt(o.high) - first;
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return;
  // `limits` cuts what is read; `ends` holds the partitions not yet read to their limit.
  const limits = new Map(ends);
  let read = 0;
  const consumer = kafka.consumer({ groupId: `intake-audit-${randomUUID()}` });
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const reached = (topic: string, partition: number, lastOffset: string): void => {
    const id = `${topic}/${partition}`;
    const end = ends.get(id);
    if (end !== undefined && BigInt(lastOffset) + 1n >= end) ends.delete(id);
    if (ends.size === 0) finish();
  };
  consumer.onBatchEnd((e) => reached(e.topic, e.partition, e.lastOffset));
  const joined = new Promise<void>((resolve) => consumer.onGroupJoin(() => resolve()));
  try {
    await consumer.connect();
    for (const topic of topics) await consumer.subscribe(topic, { fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const end = limits.get(`${batch.topic}/${batch.partition}`);
        for (const m of batch.messages) {
          if (end !== undefined && BigInt(m.offset) >= end) break;
          onMessage(batch.topic, batch.partition, m);
          read += 1;
        }
        options.onProgress?.(read, Number(total));
        reached(batch.topic, batch.partition, batch.lastOffset());
        await Promise.resolve();
      },
    });
    if (options.sinceMs) {
      await joined;
      for (const [id, offset] of starts) {
        const cut = id.lastIndexOf('/');
        consumer.seek(id.slice(0, cut), Number(id.slice(cut + 1)), offset.toString());
      }
    }
    await finished;
  } finally {
    await consumer.disconnect();
  }
}

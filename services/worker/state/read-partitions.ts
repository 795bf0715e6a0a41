/**
 * Reads chosen partitions of a topic over offset ranges: how a worker restores
 * per-partition state after it was assigned partitions (the visitors' scores from the
 * compacted scores topic, from the beginning to the end as it was when the read started;
 * the recent event ids from the raw topic, up to the committed offset). The Kafka port has
 * no manual partition assignment, so a throwaway consumer group reads the topic, seeks the
 * wanted partitions to their start and pauses the others; the group is deleted
 * afterwards. It reads committed data only (`read_committed`): outputs
 * of aborted transactions are skipped.
 */
import { randomUUID } from 'node:crypto';
import type { ConsumedRecord, KafkaClient } from '../../../lib/kafka/port';
import { startupRetry, withRetry } from '../../../lib/retry';

export interface StateRecord {
  partition: number;
  key: string;
  value: unknown;
}

/** From the beginning up to the end as it was when the read started, keyed records only. */
export async function readPartitions(
  kafka: KafkaClient,
  topic: string,
  wanted: readonly number[],
  timeoutMs = 60_000,
): Promise<StateRecord[]> {
  const records: StateRecord[] = [];
  await readRanges(
    kafka,
    topic,
    wanted,
    (o) => ({ from: BigInt(o.low), to: BigInt(o.high) }),
    (partition, m) => {
      if (m.key && m.value)
        records.push({
          partition,
          key: m.key.toString(),
          value: JSON.parse(m.value.toString()),
        });
    },
    timeoutMs,
  );
  return records;
}

/**
 * Hands every record of each wanted partition within `range(offsets)` (from inclusive, to
 * exclusive; clamped to what the partition holds) to `onRecord`, in offset order per
 * partition. Rejects when a partition did not reach its end within `timeoutMs`.
 */
export async function readRanges(
  kafka: KafkaClient,
  topic: string,
  wanted: readonly number[],
  range: (offsets: { partition: number; low: string; high: string }) => {
    from: bigint;
    to: bigint;
  },
  onRecord: (partition: number, message: ConsumedRecord) => void,
  timeoutMs = 60_000,
): Promise<void> {
  if (wanted.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `intake-restore-${randomUUID()}`;
  try {
    const ranges = new Map<number, { from: bigint; to: bigint }>();
    const others: number[] = [];
    for (const p of await withRetry(() => admin.fetchTopicOffsets(topic), startupRetry)) {
      if (!wanted.includes(p.partition)) {
        others.push(p.partition);
        continue;
      }
      const low = BigInt(p.low);
      const high = BigInt(p.high);
      const r = range(p);
      const from = r.from > low ? r.from : low;
      const to = r.to < high ? r.to : high;
      if (to > from) ranges.set(p.partition, { from, to });
    }
    if (ranges.size === 0) return;
    const ends = new Map([...ranges].map(([p, r]) => [p, r.to]));
    const consumer = kafka.consumer({ groupId });
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    // The end may be a transaction marker (outputs written in transactions, HML): a batch's
    // last offset counts it, and a batch of markers only reaches `onBatchEnd`.
    const reached = (partition: number, lastOffset: string): void => {
      const end = ends.get(partition);
      if (end !== undefined && BigInt(lastOffset) + 1n >= end) ends.delete(partition);
      if (ends.size === 0) finish();
    };
    consumer.onBatchEnd((e) => reached(e.partition, e.lastOffset));
    await consumer.connect();
    try {
      await consumer.subscribe(topic, { fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          const r = ranges.get(batch.partition);
          if (r === undefined || !ends.has(batch.partition)) return;
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset >= r.to) break;
            if (offset >= r.from) onRecord(batch.partition, m);
          }
          reached(batch.partition, batch.lastOffset());
          await Promise.resolve();
        },
      });
      if (others.length > 0) consumer.pause(topic, others);
      for (const [partition, r] of ranges)
        if (r.from > 0n) consumer.seek(topic, partition, r.from.toString());
      const timer = setTimeout(finish, timeoutMs);
      await finished;
      clearTimeout(timer);
      if (ends.size > 0)
        throw new Error(
          `restoring ${topic} timed out for partitions ${[...ends.keys()].join(', ')}`,
        );
    } finally {
      await consumer.disconnect();
    }
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

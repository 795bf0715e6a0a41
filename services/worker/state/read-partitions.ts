/**
 * Reads chosen partitions of a (compacted) topic from the beginning up to their end as it
 * was when the read started: how a worker restores per-partition state (the visitors'
 * scores) after it was assigned partitions. kafkajs has no manual partition assignment,
 * so a throwaway consumer group reads the topic and keeps the wanted partitions; the
 * group is deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { withRetry } from '../../../lib/retry';

export interface StateRecord {
  partition: number;
  key: string;
  value: unknown;
}

export async function readPartitions(
  kafka: Kafka,
  topic: string,
  wanted: readonly number[],
  timeoutMs = 60_000,
): Promise<StateRecord[]> {
  if (wanted.length === 0) return [];
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `intake-restore-${randomUUID()}`;
  try {
    const ends = new Map<number, bigint>();
    for (const p of await withRetry(() => admin.fetchTopicOffsets(topic))) {
      if (wanted.includes(p.partition) && BigInt(p.high) > BigInt(p.low))
        ends.set(p.partition, BigInt(p.high));
    }
    if (ends.size === 0) return [];
    const records: StateRecord[] = [];
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = ends.get(batch.partition);
          if (end === undefined) return;
          for (const m of batch.messages) {
            if (BigInt(m.offset) >= end) break;
            if (m.key && m.value)
              records.push({
                partition: batch.partition,
                key: m.key.toString(),
                value: JSON.parse(m.value.toString()),
              });
          }
          const last = batch.messages[batch.messages.length - 1];
          if (last && BigInt(last.offset) + 1n >= end) ends.delete(batch.partition);
          if (ends.size === 0) finish();
          await Promise.resolve();
        },
      });
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
    return records;
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * How outbound records become produce requests: the split of a queue into requests bounded
 * in total bytes and per partition (a partition's record batch must stay below the
 * broker's `message.max.bytes`, 1 MiB by default, or the broker refuses the whole request),
 * and the grouping of a request's records by topic, in order.
 */
import type { TopicRecords } from '../../../lib/kafka/port';
import type { OutboundRecord } from './record';

export interface RequestBounds {
  /** Largest request, in bytes (estimated). */
  maxRequestBytes: number;
  /** Largest record batch of one partition in a request, in bytes (estimated). */
  maxPartitionBytes: number;
}

export const requestDefaults: RequestBounds = {
  maxRequestBytes: 2 * 1024 * 1024,
  // NOTE: kafkajs groups a request's records per partition by copying the partition's array
  // for each record (quadratic): small per-partition batches keep that cheap.
  maxPartitionBytes: 256 * 1024,
};

/**
 * How many records from `start` the next request takes: at least one, within the request
 * bound, and within the partition bound for each partition.
 */
export function requestLength(
  records: readonly OutboundRecord[],
  start: number,
  bounds: RequestBounds,
): number {
  const perPartition = new Map<string, number>();
  let bytes = 0;
  let n = 0;
  while (start + n < records.length) {
    const r = records[start + n]!;
    const size = recordSize(r);
    const tp = `${r.topic}/${r.partition}`;
    const partitionBytes = (perPartition.get(tp) ?? 0) + size;
    if (
      n > 0 &&
      (bytes + size > bounds.maxRequestBytes || partitionBytes > bounds.maxPartitionBytes)
    )
      break;
    perPartition.set(tp, partitionBytes);
    bytes += size;
    n += 1;
  }
  return n;
}

/** An upper estimate of a record's size in a record batch (UTF-8 at most 3 bytes per char). */
function recordSize(r: OutboundRecord): number {
  let size = r.value.length + r.key.length * 3 + 32;
  for (const k in r.headers) size += (k.length + r.headers[k]!.length) * 3 + 8;
  return size;
}

/** A request's records grouped by topic, each with its explicit partition, in order. */
export function groupByTopic(records: readonly OutboundRecord[]): TopicRecords[] {
  const byTopic = new Map<string, TopicRecords['messages']>();
  for (const r of records) {
    let list = byTopic.get(r.topic);
    if (!list) {
      list = [];
      byTopic.set(r.topic, list);
    }
    list.push({ key: r.key, value: r.value, partition: r.partition, headers: r.headers });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

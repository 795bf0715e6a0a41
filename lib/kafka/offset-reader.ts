/**
 * A short-lived reader of one topic from given offsets: what a subscription resumed on
 * another edge reads to catch up from Kafka.
 *
 * - The port has no manual assignment, so the reader joins a throwaway group of its own,
 *   seeks every partition to its offset before the first fetch, never commits, and
 *   deletes the group when it stops. A rejoin (a rebalance) seeks again to where the
 *   reader stands, so the group's reset policy never moves it.
 * - read_committed: records of aborted transactions and commit markers are skipped, and
 *   `reached()` reports the offsets they take, so a caller can tell how far it read.
 * - Bounded: one fetch of at most `maxBytes` at a time; the next waits until `records()`
 *   resolved (the caller's back-pressure).
 * - A crash stops the reader (`failed()`); it is never restarted by the client, whose
 *   restart would lose the seek.
 * - Not detected: records deleted by retention while the reader is before them; it goes
 *   on at the earliest offset left (a compacted topic skips offsets legitimately, so a
 *   jump alone proves nothing).
 */
import { randomUUID } from 'node:crypto';
import type { KafkaClient } from './port';

export interface ReadRecord {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ReadHandlers {
  /**
   * The next records of one partition, in offset order, none before the reader's
   * position. Awaited before the next fetch is handed over; `heartbeat` keeps the group
   * member alive while the caller waits.
   */
  records(partition: number, records: ReadRecord[], heartbeat: () => Promise<void>): Promise<void>;
  /** The partition is read up to `next` (exclusive), markers and aborted records included. */
  reached(partition: number, next: bigint): void;
  /** The reader stopped on an error it cannot recover from. */
  failed(err: unknown): void;
}

export interface OffsetReader {
  /** Stops reading (an awaited `records()` should return soon) and deletes the group. */
  stop(): Promise<void>;
}

export interface OffsetReaderDeps {
  kafka: KafkaClient;
  topic: string;
  /** The first offset to read of each partition; other partitions are not read. */
  from: ReadonlyMap<number, bigint>;
  /** The most one fetch brings. */
  maxBytes: number;
}

/** Starts reading; resolves once the consumer runs (records follow through `handlers`). */
export async function readFromOffsets(
  deps: OffsetReaderDeps,
  handlers: ReadHandlers,
): Promise<OffsetReader> {
  const { kafka, topic, from, maxBytes } = deps;
  const groupId = `intake-catch-up-${randomUUID()}`;
  const next = new Map(from);
  let stopped = false;
  const consumer = kafka.consumer({
    groupId,
    maxBytes,
    maxBytesPerPartition: maxBytes,
    restartOnFailure: false,
  });
  const seekAll = (): void => {
    for (const [partition, offset] of next) consumer.seek(topic, partition, offset.toString());
  };
  consumer.onGroupJoin(() => {
    if (!stopped) seekAll();
  });
  consumer.onCrash((error) => {
    if (!stopped) handlers.failed(error);
  });
  // NOTE: a batch of markers or aborted records never reaches eachBatch, only this event.
  consumer.onBatchEnd((e) => {
    const { partition } = e;
    const reached = BigInt(e.lastOffset) + 1n;
    if (stopped || !next.has(partition) || reached <= next.get(partition)!) return;
    next.set(partition, reached);
    handlers.reached(partition, reached);
  });
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await consumer.disconnect();
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([groupId]);
    } catch {
      // an empty group without offsets also expires on its own
    } finally {
      await admin.disconnect();
    }
  };
  try {
    await consumer.connect();
    // NOTE: the reset policy applies only when retention deletes what the reader was about
    // to read (offset out of range): it goes on at the earliest offset left.
    await consumer.subscribe(topic, { fromBeginning: true });
    await consumer.run({
      eachBatch: async (payload) => {
        const { batch } = payload;
        const partition = batch.partition;
        const at = next.get(partition);
        if (stopped || at === undefined) return;
        const records: ReadRecord[] = [];
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset >= at) records.push({ partition, offset, key: m.key, value: m.value });
        }
        if (records.length === 0) return;
        await handlers.records(partition, records, () => payload.heartbeat());
        const last = records[records.length - 1]!.offset + 1n;
        if (last > (next.get(partition) ?? 0n)) next.set(partition, last);
      },
    });
    // A seek before the group is joined applies to the first fetch of each partition.
    seekAll();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { stop };
}

/**
 * `intake dlq replay`: sends dead-lettered events back into the raw topic after a fix
 * (a schema change, a new pipeline step), so the workers process them again.
 *
 * It reads the DLQ as the consumer group `intake-dlq-replay`, so each replay continues
 * after the last one (`--from-beginning` starts over), up to the DLQ's end as it was when
 * the command started; each record goes back with its key and value, its DLQ headers
 * replaced by `intake-replayed-from` and an incremented `intake-replay-count`. The group's
 * offset is committed only after the raw topic acknowledged the replayed records, so an
 * interrupted replay loses nothing (and may resend a few: same ids). Each record's raw
 * partition is chosen here (the key's default partition) so the answer can be checked to
 * cover every one of them (lib/kafka/acknowledged.ts).
 */
import { Presets, SingleBar } from 'cli-progress';
import type { ConsumedRecord, KafkaClient, RecordHeaders } from '../../../lib/kafka/port';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { withRetry } from '../../../lib/retry';
import { isDlqHeader } from '../../../lib/records/dlq';
import { REPLAY_HEADER, headerString } from '../../../lib/records/headers';

export interface ReplayOptions {
  kafka: KafkaClient;
  dlqTopic: string;
  rawTopic: string;
  groupId: string;
  fromBeginning: boolean;
  /** Replay at most this many records (0: no limit). */
  limit: number;
  /** Only records whose envelope `type` is this one (others are skipped, not replayed). */
  type?: string;
  dryRun: boolean;
  progress: boolean;
}

export interface ReplayResult {
  scanned: number;
  replayed: number;
  skipped: number;
}

export async function replayDlq(o: ReplayOptions): Promise<ReplayResult> {
  const admin = o.kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    const offsets = await withRetry(() => admin.fetchTopicOffsets(o.dlqTopic));
    if (o.fromBeginning) {
      await admin
        .setOffsets(
          o.groupId,
          o.dlqTopic,
          offsets.map((p) => ({ partition: p.partition, offset: p.low })),
        )
        .catch(() => undefined);
    }
    // NOTE: right after a broker starts, the group coordinator may not be ready yet (retriable).
    const committed = await withRetry(() => admin.fetchOffsets(o.groupId, o.dlqTopic));
    const done = new Set<number>();
    let todo = 0;
    for (const p of offsets) {
      const c = BigInt(committed.find((x) => x.partition === p.partition)?.offset ?? '-1');
      const start = c >= 0n ? c : BigInt(p.low);
      ends.set(p.partition, BigInt(p.high));
      if (start >= BigInt(p.high)) done.add(p.partition);
      todo += Number(BigInt(p.high) - start);
    }
    const result = { scanned: 0, replayed: 0, skipped: 0 };
    if (todo === 0) return result;
    const partitions = new TopicPartitions();
    await withRetry(() => partitions.refresh(admin, [o.rawTopic]));
    const total = Math.min(todo, o.limit || todo);
    return await consume(o, { ends, done, total, partitions }, result);
  } finally {
    await admin.disconnect();
  }
}

interface Plan {
  /** Per partition, the DLQ's end when the replay started. */
  ends: Map<number, bigint>;
  /** Partitions with nothing left to replay. */
  done: Set<number>;
  total: number;
  /** The raw topic's partition count, for choosing each record's partition. */
  partitions: TopicPartitions;
}

async function consume(o: ReplayOptions, plan: Plan, result: ReplayResult): Promise<ReplayResult> {
  const { ends, done, total, partitions } = plan;
  const producer = o.kafka.producer();
  const consumer = o.kafka.consumer({ groupId: o.groupId });
  const bar = o.progress
    ? new SingleBar(
        { format: 'replay {bar} {value}/{total} records | {eta}s left' },
        Presets.shades_classic,
      )
    : null;
  bar?.start(total, 0);
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe(o.dlqTopic, { fromBeginning: true });
  await consumer.run({
    eachBatch: async (payload) => {
      const { batch } = payload;
      const end = ends.get(batch.partition) ?? 0n;
      const take: ConsumedRecord[] = [];
      for (const m of batch.messages) {
        if (BigInt(m.offset) >= end || (o.limit && result.scanned >= o.limit)) break;
        result.scanned += 1;
        take.push(m);
      }
      const replay = take.filter((m) => !o.type || envelopeType(m) === o.type);
      result.skipped += take.length - replay.length;
      if (replay.length > 0 && !o.dryRun) {
        const topicMessages = [
          {
            topic: o.rawTopic,
            messages: replay.map((m) => ({
              key: m.key,
              value: m.value,
              headers: replayHeaders(m, batch.partition),
              partition: partitions.partition(o.rawTopic, m.key?.toString() ?? ''),
            })),
          },
        ];
        await producer.sendBatch({ topicMessages });
      }
      result.replayed += replay.length;
      const last = take[take.length - 1];
      if (last && !o.dryRun) {
        await consumer.commitOffsets([
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(last.offset) + 1n).toString(),
          },
        ]);
        payload.resolveOffset(last.offset);
      }
      bar?.update(result.scanned);
      await payload.heartbeat();
      const reachedEnd = last
        ? BigInt(last.offset) + 1n >= end
        : BigInt(batch.highWatermark) >= end;
      if (reachedEnd) done.add(batch.partition);
      if (done.size >= ends.size || (o.limit && result.scanned >= o.limit)) finish();
    },
  });
  await finished;
  bar?.stop();
  await consumer.disconnect();
  await producer.disconnect();
  return result;
}

/** The `type` of a dead letter's value, when it is a JSON object with one (any record may be dead). */
function envelopeType(m: ConsumedRecord): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(m.value?.toString() ?? '');
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || !('type' in value)) return undefined;
  return typeof value.type === 'string' ? value.type : undefined;
}

function replayHeaders(m: ConsumedRecord, partition: number): RecordHeaders {
  const headers: RecordHeaders = {};
  for (const [k, v] of Object.entries(m.headers ?? {}))
    if (!isDlqHeader(k) && v !== undefined) headers[k] = v;
  const count = Number(headerString(m.headers, REPLAY_HEADER.count) ?? '0') + 1;
  headers[REPLAY_HEADER.from] = `dlq/${partition}/${m.offset}`;
  headers[REPLAY_HEADER.count] = String(count);
  return headers;
}

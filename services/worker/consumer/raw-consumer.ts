/**
 * The worker's consumer over `intake.raw`.
 *
 * Per chunk of a fetched batch: run the pipeline -> hold the outbound records (SBML: append
 * to the durable outbound log with one sync; or send and wait) -> only then commit the
 * input offsets -> release the records to the sender (also when the commit fails: the log
 * holds them, so sending is always safe).
 *
 * - Offsets are never auto-committed, and never ahead of durability: a crash at any point
 *   either re-reads uncommitted input or resends from the log (duplicates keep their id).
 * - Heartbeats come from the processing loop, not from a timer (also while a newly
 *   assigned partition waits for its state).
 * - Backpressure: while the delivery says pause (log full, downstream failing, store
 *   failing) the loop waits, heartbeating, and takes no new input; nothing is dropped.
 * - Rebalance: a chunk of a revoked partition (`isStale`) stops before its hand-off; what
 *   was not handed off is not committed and the new owner processes it.
 * - Partitions are processed concurrently (`partitionsConsumedConcurrently`); the number
 *   of chunks in flight is bounded by that number.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { isRetriable } from '../../../lib/errors';
import { sleep } from '../../../lib/lifecycle';
import type { TopicPartitions } from '../../../lib/kafka/partitioner';
import type { Logger } from '../../../lib/logger';
import type { Pipeline } from '../pipeline/pipeline';
import type { WorkerMetrics } from '../metrics';
import type { Delivery } from '../outbound/delivery';
import type { DeliveryProgress } from '../outbound/progress';
import type { OutboundRecord, OutboundTopics } from '../outbound/record';
import type { Replier } from '../outbound/replier';
import { processBatch } from './process-batch';

export interface RawConsumerDeps {
  consumer: Consumer;
  delivery: Delivery;
  progress: DeliveryProgress;
  pipeline: Pipeline;
  /** Builds the replies of dropped request/response events. */
  replier: Pick<Replier, 'dropped'>;
  partitions: TopicPartitions;
  topics: OutboundTopics & { raw: string };
  metrics: WorkerMetrics;
  logger: Logger;
  partitionsConsumedConcurrently: number;
  /** Largest slice of a fetched batch processed, logged and committed as one unit. */
  maxRecordsPerChunk: number;
  /** Called with the raw partitions assigned after each rebalance. */
  onAssigned?: (partitions: number[]) => Promise<void> | void;
  /** Awaited before a partition's first chunk (e.g. state restore after assignment). */
  beforePartition?: (partition: number) => Promise<void>;
}

export class RawConsumer {
  private readonly log: Logger;
  private running = false;
  private assigned: number[] = [];
  private pausedSince: number | null = null;

  constructor(private readonly deps: RawConsumerDeps) {
    this.log = deps.logger.child({ module: 'raw-consumer' });
  }

  async start(): Promise<void> {
    const { consumer, topics } = this.deps;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.deps.metrics.rebalances.inc();
      const assignment = e.payload.memberAssignment as Record<string, number[] | undefined>;
      this.assigned = [...(assignment[topics.raw] ?? [])].sort((a, b) => a - b);
      this.log.info({ partitions: this.assigned }, 'group_joined');
      void Promise.resolve(this.deps.onAssigned?.(this.assigned)).catch((err: unknown) =>
        this.log.error({ err }, 'on_assigned_failed'),
      );
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer_crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.raw, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.deps.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.running = true;
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { consumer, metrics, delivery } = this.deps;
    // Heartbeat while the partition's state is restored: a hand-over can take seconds.
    if (this.deps.beforePartition)
      await whileHeartbeating(payload, this.deps.beforePartition(batch.partition));
    for (let i = 0; i < batch.messages.length; i += this.deps.maxRecordsPerChunk) {
      if (!(await this.waitUntilAllowed(payload))) return;
      const messages = batch.messages.slice(i, i + this.deps.maxRecordsPerChunk);
      const outcome = await processBatch(
        { topic: batch.topic, partition: batch.partition, messages },
        this.deps,
      );
      if (payload.isStale()) return; // revoked while processing: hand nothing off, commit nothing
      const { records } = outcome;
      if (!(await this.hold(payload, records))) return;
      const last = messages[messages.length - 1]!.offset;
      try {
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: nextOffset(last) },
        ]);
      } catch (err) {
        // The entries are durable in the log whatever the commit did: send them. A commit
        // can be written and still answered with an error (a worker paused past its session
        // timeout: the broker took the commit, the group moved on); withholding the entries
        // then would leave them unsent until this worker restarts.
        delivery.release(records);
        if (!lostMembership(err)) throw err;
        // The group moved on: the new owner re-reads what was not committed (duplicates keep
        // their id); kafkajs rejoins on the next heartbeat.
        this.log.warn({ err, partition: batch.partition }, 'commit_refused_group_moved_on');
        return;
      }
      payload.resolveOffset(last);
      this.deps.progress.committed(batch.partition, delivery.deferred ? records : [], BigInt(last));
      delivery.release(records);
      metrics.consumed.inc(messages.length);
      metrics.lag.set(
        { partition: String(batch.partition) },
        Number(BigInt(batch.highWatermark) - BigInt(last) - 1n),
      );
      metrics.processed.inc(outcome.processed);
      metrics.dlq.inc(outcome.dlq);
      metrics.dropped.inc(outcome.dropped);
      await payload.heartbeat();
    }
  }

  /**
   * Holds records until committing their input is safe, retrying retriable failures (a
   * failing store) with the same records, so the pipeline does not run twice; false when
   * the batch was revoked meanwhile.
   */
  private async hold(payload: EachBatchPayload, records: OutboundRecord[]): Promise<boolean> {
    let backoff = 100;
    for (;;) {
      try {
        await whileHeartbeating(payload, this.deps.delivery.hold(records));
        return true;
      } catch (err) {
        if (!isRetriable(err)) throw err;
        this.log.warn({ err, retryInMs: backoff }, 'hand_off_failed');
        const deadline = Date.now() + backoff;
        while (Date.now() < deadline) {
          if (!payload.isRunning() || payload.isStale()) return false;
          await payload.heartbeat();
          await sleep(Math.min(100, backoff));
        }
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Waits while the delivery asks to pause; false when the batch should be abandoned. */
  private async waitUntilAllowed(payload: EachBatchPayload): Promise<boolean> {
    while (this.deps.delivery.mustPause()) {
      if (this.pausedSince === null) {
        this.pausedSince = Date.now();
        this.log.warn({ reason: this.deps.delivery.problem() }, 'consumption_paused');
      }
      if (!payload.isRunning() || payload.isStale()) return false;
      await payload.heartbeat();
      await sleep(100);
    }
    if (this.pausedSince !== null) {
      this.log.info({ pausedMs: Date.now() - this.pausedSince }, 'consumption_resumed');
      this.pausedSince = null;
    }
    return payload.isRunning() && !payload.isStale();
  }

  get assignedPartitions(): number[] {
    return this.assigned;
  }

  isRunning(): boolean {
    return this.running;
  }

  isPaused(): boolean {
    return this.pausedSince !== null;
  }

  /** Stops fetching, lets the running chunk finish (and commit), and leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    await this.deps.consumer.disconnect();
  }
}

/** True for the commit errors that mean this member is no longer in the group's generation. */
export function lostMembership(err: unknown): boolean {
  for (let e = err as { type?: string; message?: string; cause?: unknown } | undefined; e;) {
    if (
      [
        'UNKNOWN_MEMBER_ID',
        'ILLEGAL_GENERATION',
        'REBALANCE_IN_PROGRESS',
        'FENCED_INSTANCE_ID',
      ].includes(e.type ?? '') ||
      /not aware of this member|generation/i.test(e.message ?? '')
    )
      return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** Awaits `work`, heartbeating every second meanwhile (never from a timer: kafkajs #447). */
async function whileHeartbeating<T>(payload: EachBatchPayload, work: Promise<T>): Promise<T> {
  let waiting = true;
  const settled = work.finally(() => (waiting = false));
  while (waiting) {
    await Promise.race([settled.catch(() => undefined), sleep(1000)]);
    if (waiting) await payload.heartbeat();
  }
  return settled;
}

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

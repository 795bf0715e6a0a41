/**
 * The worker's consumer over `intake.raw`.
 *
 * Per chunk of a fetched batch: run the pipeline, then hand the outbound records off with
 * the input commit through the worker's delivery (`delivery/delivery.ts`: SBML or HML,
 * built by one factory; this loop does not know which). In each group generation a
 * partition's first batch starts from the delivery's claim: records below it were
 * committed already (HML: by a fenced zombie, or by this worker's own transaction whose
 * answer was lost) or are held by this worker (SBML: a chunk whose commit the group
 * refused, its records logged and sent) and are skipped.
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
import { isRetriable } from '../../../lib/errors';
import type { BatchContext, Consumer } from '../../../lib/kafka/port';
import { sleep } from '../../../lib/lifecycle';
import type { Logger } from '../../../lib/logger';
import type { WorkerMetrics } from '../metrics';
import type { HandOffContext, WorkerDelivery } from '../delivery/delivery';
import type { Processing } from '../processing/processing';
import { idsOf } from './recent-ids';

export interface RawConsumerDeps {
  consumer: Consumer;
  /** How a processed chunk goes downstream together with its input commit. */
  delivery: WorkerDelivery;
  /** Deduplication, the pipeline and the outputs registry, with their state. */
  processing: Pick<Processing, 'process' | 'committed' | 'ids'>;
  /** The raw topic consumed. */
  rawTopic: string;
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
    const { consumer, rawTopic } = this.deps;
    consumer.onGroupJoin((assignment) => {
      this.deps.metrics.rebalances.inc();
      this.assigned = [...(assignment[rawTopic] ?? [])].sort((a, b) => a - b);
      this.log.info({ partitions: this.assigned }, 'group_joined');
      this.deps.delivery.assigned(this.assigned);
      void Promise.resolve(this.deps.onAssigned?.(this.assigned)).catch((err: unknown) =>
        this.log.error({ err }, 'on_assigned_failed'),
      );
    });
    consumer.onCrash((err, restart) => {
      this.log.error({ err, restart }, 'consumer_crashed');
    });
    await consumer.connect();
    await consumer.subscribe(rawTopic, { fromBeginning: true });
    await consumer.run({
      manualResolve: true,
      partitionsConsumedConcurrently: this.deps.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.running = true;
  }

  private async handleBatch(payload: BatchContext): Promise<void> {
    const { batch } = payload;
    const { metrics, delivery } = this.deps;
    const start = await whileHeartbeating(payload, delivery.claim(batch.partition));
    let from = 0;
    while (from < batch.messages.length && BigInt(batch.messages[from]!.offset) < start) from += 1;
    if (from > 0) {
      this.log.info(
        { partition: batch.partition, from: batch.messages[0]!.offset, records: from },
        'input_skipped_claimed',
      );
      // Committed or held already: their ids belong in the window all the same.
      const { ids } = this.deps.processing;
      if (ids.enabled) ids.add(batch.partition, idsOf(batch.messages.slice(0, from)));
      if (from === batch.messages.length) {
        payload.resolveOffset(batch.lastOffset());
        return;
      }
    }
    // Heartbeat while the partition's state is restored: a hand-over can take seconds.
    if (this.deps.beforePartition)
      await whileHeartbeating(payload, this.deps.beforePartition(batch.partition));
    const context: HandOffContext = {
      retrying: (work) => this.retrying(payload, work),
      commitInput: (offset) =>
        this.deps.consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset },
        ]),
    };
    for (let i = from; i < batch.messages.length; i += this.deps.maxRecordsPerChunk) {
      if (!(await this.waitUntilAllowed(payload))) return;
      const messages = batch.messages.slice(i, i + this.deps.maxRecordsPerChunk);
      const outcome = await this.deps.processing.process({
        topic: batch.topic,
        partition: batch.partition,
        messages,
      });
      if (payload.isStale()) return; // revoked while processing: hand nothing off, commit nothing
      const last = messages[messages.length - 1]!.offset;
      const chunk = {
        topic: batch.topic,
        partition: batch.partition,
        first: messages[0]!.offset,
        last,
        records: outcome.records,
      };
      if (!(await delivery.handOff(chunk, context))) return;
      payload.resolveOffset(last);
      this.deps.processing.committed(batch.partition, outcome);
      metrics.consumed.inc(messages.length);
      metrics.duplicates.inc(outcome.duplicates);
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
   * Runs `work` until it succeeds, retrying retriable failures (a failing store or broker)
   * with backoff, heartbeating; the caller passes the same records, so the pipeline does
   * not run twice. False when the batch was revoked meanwhile.
   */
  private async retrying(payload: BatchContext, work: () => Promise<void>): Promise<boolean> {
    let backoff = 100;
    for (;;) {
      try {
        await whileHeartbeating(payload, work());
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

  /** Waits while the delivery asks to pause, then heartbeats; false when the batch should be abandoned. */
  private async waitUntilAllowed(payload: BatchContext): Promise<boolean> {
    const { delivery } = this.deps;
    while (delivery.mustPause()) {
      if (this.pausedSince === null) {
        this.pausedSince = Date.now();
        this.log.warn({ reason: delivery.problem() }, 'consumption_paused');
      }
      if (!payload.isRunning() || payload.isStale()) return false;
      await payload.heartbeat();
      await sleep(100);
    }
    if (this.pausedSince !== null) {
      this.log.info({ pausedMs: Date.now() - this.pausedSince }, 'consumption_resumed');
      this.pausedSince = null;
    }
    if (!payload.isRunning() || payload.isStale()) return false;
    // A worker stalled past its session timeout (SIGSTOP, a long pause of the machine)
    // learns here that the group moved on, before it processes input another worker now
    // owns: kafkajs sends a heartbeat only when one is due, and a refused one throws, as
    // the heartbeat after each chunk does (the consumer rejoins).
    await payload.heartbeat();
    return true;
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

/**
 * Awaits `work`, heartbeating every second meanwhile (never from a timer: kafkajs #447),
 * and settles as `work` does. A failed heartbeat (the coordinator moved, the group is
 * rebalancing) does not end the wait: giving up on work still under way would let the
 * caller retry it while it runs, e.g. a second transaction of the same records that
 * commits too. The consumer hears of a lost membership at its next heartbeat after the
 * work, or from `isStale()`.
 */
export async function whileHeartbeating<T>(
  payload: Pick<BatchContext, 'heartbeat'>,
  work: Promise<T>,
): Promise<T> {
  let waiting = true;
  const settled = work.finally(() => (waiting = false));
  while (waiting) {
    await Promise.race([settled.catch(() => undefined), sleep(1000)]);
    if (waiting) await payload.heartbeat().catch(() => undefined);
  }
  return settled;
}

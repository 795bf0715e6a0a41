/**
 * The port's group consumer on kafkajs. It reads committed data only
 * (`read_committed`: outputs of aborted transactions never reach it), never creates
 * topics, and commits only when `autoCommit` is asked for; these are applied after the
 * caller's options.
 *
 * A batch's heartbeat or commit that finds the group moved on (a rebalance, a new
 * generation, a member the coordinator forgot, a coordinator moved) fails with Intake's
 * error (`KAFKA_NOT_MEMBER`; `KAFKA_UNAVAILABLE` for the coordinator); when the caller's
 * `eachBatch` lets that error out, kafkajs gets back the error it threw
 * (`kafkajsRejoin`), by which its runner rejoins the group at once. Given Intake's error
 * instead, kafkajs took it for a failure of the handler: it ran the batch again until its
 * retries ran out, then crashed and restarted the consumer, and each restart made the whole
 * group rebalance once more.
 */
import { KafkaJSError } from 'kafkajs';
import type { Consumer as KafkajsConsumer, EachBatchPayload, Kafka } from 'kafkajs';
import { IntakeError } from '../../errors';
import type { BatchContext, Consumer, ConsumerOptions, RunOptions } from '../port';
import { translate, translated } from './errors';

export class KafkajsConsumerPort implements Consumer {
  private readonly consumer: KafkajsConsumer;

  constructor(kafka: Kafka, options: ConsumerOptions) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxBytes: options.maxBytes,
      ...(options.restartOnFailure === false
        ? { retry: { retries: 5, restartOnFailure: () => Promise.resolve(false) } }
        : {}),
      allowAutoTopicCreation: false,
      readUncommitted: false,
    });
    if (options.restartOnFailure !== false) restartAfterTransientCrash(this.consumer);
  }

  connect(): Promise<void> {
    return translated('connecting the consumer failed', () => this.consumer.connect());
  }

  subscribe(topic: string, options: { fromBeginning?: boolean } = {}): Promise<void> {
    return translated(`subscribing to ${topic} failed`, () =>
      this.consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? false }),
    );
  }

  run(options: RunOptions): Promise<void> {
    return translated('running the consumer failed', () =>
      this.consumer.run({
        autoCommit: options.autoCommit ?? false,
        eachBatchAutoResolve: !options.manualResolve,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachBatch: async (payload) => {
          try {
            await options.eachBatch(batchContext(payload));
          } catch (err) {
            throw kafkajsRejoin(err);
          }
        },
      }),
    );
  }

  onGroupJoin(listener: (assignment: Record<string, number[]>) => void): void {
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const assignment: Record<string, number[]> = {};
      for (const [topic, partitions] of Object.entries(e.payload.memberAssignment))
        assignment[topic] = [...(partitions ?? [])];
      listener(assignment);
    });
  }

  onCrash(listener: (error: Error, restarting: boolean) => void): void {
    this.consumer.on(this.consumer.events.CRASH, (e) =>
      listener(translate(e.payload.error, 'the consumer crashed'), e.payload.restart),
    );
  }

  onBatchEnd(
    listener: (end: { topic: string; partition: number; lastOffset: string }) => void,
  ): void {
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, (e) =>
      listener({
        topic: e.payload.topic,
        partition: e.payload.partition,
        lastOffset: e.payload.lastOffset,
      }),
    );
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  pause(topic: string, partitions: number[]): void {
    this.consumer.pause([{ topic, partitions }]);
  }

  resume(topic: string, partitions: number[]): void {
    this.consumer.resume([{ topic, partitions }]);
  }

  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void> {
    return translated('committing the offsets failed', () => this.consumer.commitOffsets(offsets));
  }

  disconnect(): Promise<void> {
    return translated('disconnecting the consumer failed', () => this.consumer.disconnect());
  }
}

/**
 * The broker's errors by which kafkajs' runner, when `eachBatch` throws one, rejoins the
 * group instead of retrying the batch (its `isRebalancing`, and the member it must join as
 * anew).
 */
const REJOIN_TYPES: ReadonlySet<string> = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);

/** The kafkajs error a translated heartbeat or commit failure came from, when kafkajs rejoins on it; else `err`. */
export function kafkajsRejoin(err: unknown): unknown {
  if (!(err instanceof IntakeError)) return err;
  const { cause } = err;
  return cause instanceof KafkaJSError && REJOIN_TYPES.has((cause as { type?: string }).type ?? '')
    ? cause
    : err;
}

function batchContext(payload: EachBatchPayload): BatchContext {
  const { batch } = payload;
  return {
    batch: {
      topic: batch.topic,
      partition: batch.partition,
      highWatermark: batch.highWatermark,
      // kafkajs' messages carry the port's fields (its header values are Buffers when read).
      messages: batch.messages as BatchContext['batch']['messages'],
      lastOffset: () => batch.lastOffset(),
    },
    heartbeat: () => translated('the heartbeat failed', () => payload.heartbeat()),
    isRunning: () => payload.isRunning(),
    isStale: () => payload.isStale(),
    resolveOffset: (offset) => payload.resolveOffset(offset),
  };
}

/**
 * Errors kafkajs takes as final although they pass: it stops the consumer for good on them
 * (no restart), e.g. a group coordinator not found yet while a broker starts, which left an
 * edge that started beside a loaded broker without its replies consumer (503s for ever).
 */
const TRANSIENT_CRASHES = new Set(['KafkaJSGroupCoordinatorNotFound']);

/** After such a crash, runs the consumer again (same handlers), once a second, until it joins. */
export function restartAfterTransientCrash(consumer: KafkajsConsumer, delayMs = 1000): void {
  const run = consumer.run.bind(consumer);
  const disconnect = consumer.disconnect.bind(consumer);
  let runConfig: Parameters<KafkajsConsumer['run']>[0];
  let stopped = false;
  consumer.run = (c) => {
    runConfig = c;
    return run(c);
  };
  consumer.disconnect = () => {
    stopped = true;
    return disconnect();
  };
  const restart = (): void => {
    if (stopped) return;
    consumer
      .connect()
      .then(() => run(runConfig))
      .catch(() => setTimeout(restart, delayMs));
  };
  consumer.on(consumer.events.CRASH, (e) => {
    const { error, restart: kafkajsRestarts } = e.payload;
    if (kafkajsRestarts || stopped || !TRANSIENT_CRASHES.has(error.name)) return;
    setTimeout(restart, delayMs);
  });
}

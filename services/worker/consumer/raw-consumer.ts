/**
 * The worker's consumer over `intake.raw` (thin version: no outbound log yet).
 *
 * Per batch: run the pipeline -> send every outbound record (acks=all, idempotent) ->
 * only after the downstream acknowledgement, commit the input offsets. A crash at any
 * point therefore re-reads uncommitted input (at-least-once; downstream duplicates keep
 * the same `id`). Offsets are never auto-committed; heartbeats come from the processing
 * loop, not from a timer; a batch whose partition was revoked stops early and commits
 * only what was delivered.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { BatchingProducer } from '../../../lib/kafka/batching-producer';
import type { TopicPartitions } from '../../../lib/kafka/partitioner';
import type { Logger } from '../../../lib/logger';
import type { Pipeline } from '../pipeline/pipeline';
import type { WorkerMetrics } from '../metrics';
import { processMessages } from './outbound';
import type { OutboundRecord, OutboundTopics } from './outbound';

export interface RawConsumerDeps {
  consumer: Consumer;
  producer: BatchingProducer;
  pipeline: Pipeline;
  partitions: TopicPartitions;
  topics: OutboundTopics & { raw: string };
  metrics: WorkerMetrics;
  logger: Logger;
  partitionsConsumedConcurrently: number;
  /** Largest slice of a fetched batch processed and delivered as one unit. */
  maxRecordsPerChunk: number;
}

export class RawConsumer {
  private readonly log: Logger;
  private running = false;

  constructor(private readonly deps: RawConsumerDeps) {
    this.log = deps.logger.child({ module: 'raw-consumer' });
  }

  async start(): Promise<void> {
    const { consumer, topics } = this.deps;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.deps.metrics.rebalances.inc();
      this.log.info({ assignment: e.payload.memberAssignment }, 'group_joined');
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
    const { consumer, metrics } = this.deps;
    for (let i = 0; i < batch.messages.length; i += this.deps.maxRecordsPerChunk) {
      if (!payload.isRunning() || payload.isStale()) return; // revoked or stopping: commit nothing more
      const messages = batch.messages.slice(i, i + this.deps.maxRecordsPerChunk);
      const outcome = await processMessages(
        { topic: batch.topic, partition: batch.partition, messages },
        {
          pipeline: this.deps.pipeline,
          topics: this.deps.topics,
          partitions: this.deps.partitions,
        },
      );
      await this.deliver(outcome.outbound);
      const last = messages[messages.length - 1]!.offset;
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: nextOffset(last) },
      ]);
      payload.resolveOffset(last);
      metrics.consumed.inc(messages.length);
      metrics.processed.inc(outcome.processed);
      metrics.dlq.inc(outcome.dlq);
      metrics.dropped.inc(outcome.dropped);
      await payload.heartbeat();
    }
  }

  /** Resolves only after Kafka acknowledged every outbound record. */
  private async deliver(outbound: OutboundRecord[]): Promise<void> {
    const byTopic = new Map<string, OutboundRecord['record'][]>();
    for (const o of outbound) {
      const list = byTopic.get(o.topic) ?? [];
      list.push(o.record);
      byTopic.set(o.topic, list);
    }
    await Promise.all(
      [...byTopic].map(([topic, records]) => this.deps.producer.send(topic, records)),
    );
  }

  isRunning(): boolean {
    return this.running;
  }

  /** Stops fetching, lets the running batch finish (and commit), and leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    await this.deps.consumer.disconnect();
  }
}

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

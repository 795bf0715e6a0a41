/**
 * Turns input records into the outbound records the worker must deliver: processed
 * events to the processed topic, rejected ones to the DLQ with the reason, the failing
 * step, the source position and the time in headers. Dropped events produce nothing.
 * Every outbound record keeps the event's `id` (header and value) so consumers can
 * deduplicate.
 */
import type { KafkaMessage } from 'kafkajs';
import { HEADER_ID, HEADER_REPLY_TO, parseEnvelope } from '../../../lib/envelope';
import type { Reply } from '../../../lib/replies';
import type { PartitionedRecord } from '../../../lib/kafka/batching-producer';
import type { TopicPartitions } from '../../../lib/kafka/partitioner';
import type { SideRecord, StepContext } from '../../../lib/pipeline';
import type { Pipeline } from '../pipeline/pipeline';

export interface OutboundRecord {
  topic: string;
  record: PartitionedRecord;
  outcome: 'processed' | 'dlq' | 'side';
  /** Offset of the input record it was produced from. */
  sourceOffset: string;
}

export interface OutboundTopics {
  processed: string;
  dlq: string;
  /** Topics of side outputs, by the output name steps emit to (e.g. `scores`). */
  outputs?: Record<string, string>;
  /** Where replies of dropped request/response events go. */
  replies?: string;
}

export interface BatchOutcome {
  outbound: OutboundRecord[];
  processed: number;
  dlq: number;
  dropped: number;
}

export async function processMessages(
  input: { topic: string; partition: number; messages: KafkaMessage[] },
  deps: { pipeline: Pipeline; topics: OutboundTopics; partitions: TopicPartitions },
): Promise<BatchOutcome> {
  const result: BatchOutcome = { outbound: [], processed: 0, dlq: 0, dropped: 0 };
  for (const message of input.messages) {
    const side: SideRecord[] = [];
    const ctx = {
      topic: input.topic,
      partition: input.partition,
      offset: message.offset,
      emit: (record: SideRecord) => side.push(record),
    };
    let envelope;
    try {
      envelope = parseEnvelope(message.value);
    } catch (err) {
      result.dlq += 1;
      result.outbound.push(...rejectedOutputs(message, ctx, 'parse', (err as Error).message, deps));
      continue;
    }
    const outcome = await deps.pipeline.run(envelope, ctx);
    // Request/response: the outputs carry the waiting edge, so their acknowledgement
    // produces the reply (see services/worker/outbound/replier.ts).
    const replyTo = envelope.pattern === 'request-response' ? envelope.replyTo : undefined;
    const replyHeader = replyTo ? { [HEADER_REPLY_TO]: replyTo } : {};
    if (outcome.kind === 'ok') {
      result.processed += 1;
      const topic = deps.topics.processed;
      result.outbound.push({
        topic,
        outcome: 'processed',
        sourceOffset: message.offset,
        record: {
          partition: deps.partitions.partition(topic, outcome.event.key),
          key: outcome.event.key,
          value: JSON.stringify(outcome.event),
          headers: { ...message.headers, [HEADER_ID]: outcome.event.id, ...replyHeader },
        },
      });
      for (const record of side)
        result.outbound.push(toSide(record, outcome.event.id, message.offset, deps));
    } else if (outcome.kind === 'dlq') {
      result.dlq += 1;
      const [dead, ...rest] = rejectedOutputs(
        message,
        ctx,
        outcome.step ?? 'unknown',
        outcome.reason,
        deps,
      );
      Object.assign(dead!.record.headers ?? {}, replyHeader);
      result.outbound.push(dead!, ...rest);
    } else {
      result.dropped += 1;
      if (replyTo && deps.topics.replies) {
        const reply: Reply = {
          id: envelope.id,
          replyTo,
          outcome: 'dropped',
          reason: outcome.reason,
          step: outcome.step,
          at: new Date().toISOString(),
        };
        result.outbound.push({
          topic: deps.topics.replies,
          outcome: 'side',
          sourceOffset: message.offset,
          record: {
            partition: deps.partitions.partition(deps.topics.replies, replyTo),
            key: replyTo,
            value: JSON.stringify(reply),
            headers: { [HEADER_ID]: envelope.id },
          },
        });
      }
    }
  }
  return result;
}

function toSide(
  side: SideRecord,
  id: string,
  sourceOffset: string,
  deps: { topics: OutboundTopics; partitions: TopicPartitions },
): OutboundRecord {
  const topic = deps.topics.outputs?.[side.output];
  if (topic === undefined) throw new Error(`a step emitted to unknown output "${side.output}"`);
  return {
    topic,
    outcome: 'side',
    sourceOffset,
    record: {
      partition: deps.partitions.partition(topic, side.key),
      key: side.key,
      value: JSON.stringify(side.value),
      headers: { [HEADER_ID]: id },
    },
  };
}

/**
 * A rejected record: the dead letter, and (when the `rejections` output is configured)
 * the reason keyed by the raw position, so any edge can answer its receipt `rejected`.
 */
function rejectedOutputs(
  message: KafkaMessage,
  ctx: StepContext,
  step: string,
  reason: string,
  deps: { topics: OutboundTopics; partitions: TopicPartitions },
): OutboundRecord[] {
  const dead = toDlq(message, ctx, step, reason, deps);
  if (!deps.topics.outputs?.rejections) return [dead];
  const id =
    message.headers?.[HEADER_ID]?.toString() ?? `${ctx.topic}-${ctx.partition}-${ctx.offset}`;
  const key = `${ctx.topic}/${ctx.partition}/${ctx.offset}`;
  const value = { reason: reason.slice(0, 1000), step, at: new Date().toISOString() };
  return [dead, toSide({ output: 'rejections', key, value }, id, ctx.offset, deps)];
}

function toDlq(
  message: KafkaMessage,
  ctx: StepContext,
  step: string,
  reason: string,
  deps: { topics: OutboundTopics; partitions: TopicPartitions },
): OutboundRecord {
  const topic = deps.topics.dlq;
  const key = message.key?.toString() ?? `${ctx.topic}-${ctx.partition}-${ctx.offset}`;
  return {
    topic,
    outcome: 'dlq',
    sourceOffset: ctx.offset,
    record: {
      partition: deps.partitions.partition(topic, key),
      key,
      value: message.value ?? '',
      headers: {
        ...message.headers,
        'intake-dlq-reason': reason.slice(0, 1000),
        'intake-dlq-step': step,
        'intake-source-topic': ctx.topic,
        'intake-source-partition': String(ctx.partition),
        'intake-source-offset': ctx.offset,
        'intake-dlq-at': new Date().toISOString(),
      },
    },
  };
}

/**
 * The worker's named outputs, each mapped once to its topic, its key and its encoder: the
 * processed events, their dead letters, the scores (and any other output a step emits to),
 * the replies, the rejections and the delivery progress. Steps and the consumer say *what*
 * they produce; this registry says *where* it goes and *how* it is written, and builds the
 * records. Every outbound record of an event carries the event's id (header and typed
 * field), so downstream consumers can deduplicate.
 */
import type { KafkaConfig } from '../../../lib/config';
import { IntakeError } from '../../../lib/errors';
import type { ConsumedRecord } from '../../../lib/kafka/port';
import type { TopicPartitions } from '../../../lib/kafka/partitioner';
import type { SideRecord } from '../../../lib/pipeline';
import { dlqHeaders } from '../../../lib/records/dlq';
import type { DeadLetter } from '../../../lib/records/dlq';
import { HEADER_ID, stringHeaders } from '../../../lib/records/headers';
import { encodeProcessed, encodeProcessedOver, processedKey } from '../../../lib/records/processed';
import type { ProcessedRecord, RawEnvelope } from '../../../lib/records/processed';
import { encodeProgress, progressKey } from '../../../lib/records/progress';
import type { ProgressRecord } from '../../../lib/records/progress';
import { MAX_REASON_LENGTH, encodeRejection, rejectionKey } from '../../../lib/records/rejection';
import type { Rejection } from '../../../lib/records/rejection';
import { encodeReply } from '../../../lib/records/reply';
import type { Reply } from '../../../lib/records/reply';
import type { OutboundOutcome, OutboundRecord } from './record';

/** The topic of each named output; an absent optional output is not written. */
export interface OutputTopics {
  processed: string;
  dlq: string;
  replies: string;
  rejections?: string;
  progress?: string;
  /** The topics of the outputs steps emit to, by the name they emit to (e.g. `scores`). */
  emitted?: Readonly<Record<string, string>>;
}

/** A rejection of the raw record at `source`, in the raw topic `topic`. */
export interface RejectionAt {
  topic: string;
  source: OutboundRecord['source'];
  rejection: Rejection;
}

/** A reply; `resultJson` is the processed event as delivered, spliced in as `result`. */
export interface ReplyOut {
  reply: Omit<Reply, 'result'>;
  resultJson?: Buffer;
}

/** What each named output carries before it is encoded. */
export interface OutputValues {
  processed: ProcessedRecord;
  /** The raw record as it was (its key and value kept). */
  dlq: { key: string; value: Buffer };
  /** What a step emitted (its `output` names the topic: `scores`, ...). */
  emitted: SideRecord;
  replies: ReplyOut;
  rejections: RejectionAt;
  progress: ProgressRecord;
}

export type OutputName = keyof OutputValues;

interface Output<T> {
  key(value: T): string;
  encode(value: T): Buffer;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** Shared by every record of their kind (an outcome is never changed). */
export const PROCESSED: OutboundOutcome = Object.freeze({ kind: 'processed' });
export const SIDE: OutboundOutcome = Object.freeze({ kind: 'side' });

const OUTPUTS: { [N in OutputName]: Output<OutputValues[N]> } = {
  processed: { key: processedKey, encode: encodeProcessed },
  dlq: { key: (d) => d.key, encode: (d) => d.value },
  emitted: { key: (s) => s.key, encode: (s) => json(s.value) },
  replies: { key: (r) => r.reply.replyTo, encode: (r) => encodeReply(r.reply, r.resultJson) },
  rejections: {
    key: (r) => rejectionKey(r.topic, r.source.partition, r.source.offset),
    encode: (r) => Buffer.from(encodeRejection(r.rejection)),
  },
  progress: {
    key: (p) => progressKey(p.topic, p.partition),
    encode: (p) => Buffer.from(encodeProgress(p)),
  },
};

/** A record of an output, encoded, with its explicit partition. */
export interface EncodedRecord {
  topic: string;
  partition: number;
  key: string;
  value: Buffer;
}

/** The event a record comes from: its id, its input position, and (request/response) its edge. */
export interface EventOrigin {
  id: string;
  source: OutboundRecord['source'];
  replyTo?: string;
}

export class Outputs {
  constructor(
    private readonly topics: OutputTopics,
    private readonly partitions: TopicPartitions,
  ) {}

  /** True when the output has a topic (optional outputs may be left out). */
  has(name: Exclude<OutputName, 'emitted'>): boolean {
    return this.topics[name] !== undefined;
  }

  private topicOf<N extends OutputName>(name: N, value: OutputValues[N]): string | undefined {
    if (name === 'emitted') return this.topics.emitted?.[(value as SideRecord).output];
    const fixed: Partial<Record<OutputName, string | Readonly<Record<string, string>>>> =
      this.topics;
    const topic = fixed[name];
    return typeof topic === 'string' ? topic : undefined;
  }

  /**
   * A record of the named output: its topic, its key, the partition of that key, its value
   * (`encoded`: the value's bytes, written already by the output's own encoding).
   */
  encode<N extends OutputName>(name: N, value: OutputValues[N], encoded?: Buffer): EncodedRecord {
    const topic = this.topicOf(name, value);
    if (topic === undefined)
      throw new IntakeError('CONFIG_INVALID', `the output "${name}" has no topic`);
    const output = OUTPUTS[name] as Output<OutputValues[N]>;
    const key = output.key(value);
    return {
      topic,
      partition: this.partitions.partition(topic, key),
      key,
      value: encoded ?? output.encode(value),
    };
  }

  /**
   * The processed event, with the input's headers passed on; written over its raw text
   * when given (`encodeProcessedOver`: only declared fields were added to it).
   */
  processed(
    event: ProcessedRecord,
    origin: EventOrigin,
    inputHeaders: ConsumedRecord['headers'],
    raw?: RawEnvelope,
  ): OutboundRecord {
    const encoded = this.encode('processed', event, raw && encodeProcessedOver(event, raw));
    return this.ofEvent(encoded, origin, PROCESSED, inputHeaders);
  }

  /** The dead letter of a raw record: its key, value and headers kept, the reason added. */
  deadLetter(
    raw: { key: string; value: Buffer },
    origin: EventOrigin,
    dead: DeadLetter,
    inputHeaders: ConsumedRecord['headers'],
  ): OutboundRecord {
    return this.ofEvent(
      this.encode('dlq', raw),
      origin,
      { kind: 'dlq', reason: dead.reason.slice(0, MAX_REASON_LENGTH), step: dead.step },
      inputHeaders,
      dlqHeaders(dead),
    );
  }

  /** A record a step emitted to a named output (e.g. `scores`). */
  emitted(record: SideRecord, origin: EventOrigin): OutboundRecord {
    if (this.topics.emitted?.[record.output] === undefined)
      throw new Error(`a step emitted to unknown output "${record.output}"`);
    return this.side(this.encode('emitted', record), origin);
  }

  /** The rejection of a raw record, keyed by its position (absent without a rejections topic). */
  rejection(r: RejectionAt, origin: EventOrigin): OutboundRecord | null {
    return this.has('rejections') ? this.side(this.encode('rejections', r), origin) : null;
  }

  /** A reply delivered with the chunk (a dropped request/response event). */
  reply(r: ReplyOut, origin: EventOrigin): OutboundRecord {
    return this.side(this.encode('replies', r), origin);
  }

  /**
   * A record standing for the event itself (processed or dead letter): the input's headers
   * as strings, the event's id over theirs, then `added` (in this order: the wire format).
   */
  private ofEvent(
    encoded: EncodedRecord,
    origin: EventOrigin,
    outcome: OutboundRecord['outcome'],
    inputHeaders: ConsumedRecord['headers'],
    added: Record<string, string> = {},
  ): OutboundRecord {
    const headers = stringHeaders(inputHeaders);
    headers[HEADER_ID] = origin.id;
    Object.assign(headers, added);
    return this.outbound(encoded, origin, outcome, headers);
  }

  private side(encoded: EncodedRecord, origin: EventOrigin): OutboundRecord {
    return this.outbound(encoded, { id: origin.id, source: origin.source }, SIDE, {
      [HEADER_ID]: origin.id,
    });
  }

  private outbound(
    encoded: EncodedRecord,
    origin: EventOrigin,
    outcome: OutboundRecord['outcome'],
    headers: Record<string, string>,
  ): OutboundRecord {
    const { topic, partition, key, value } = encoded;
    const record: OutboundRecord = {
      topic,
      partition,
      key,
      value,
      headers,
      id: origin.id,
      source: origin.source,
      outcome,
    };
    if (origin.replyTo !== undefined) record.replyTo = origin.replyTo;
    return record;
  }
}

/**
 * The worker's outputs from its Kafka configuration: every named output on its configured
 * topic, and `scores` the output steps emit to (the score step, and users' steps).
 */
export function workerOutputs(
  topics: Pick<
    KafkaConfig['topics'],
    'processed' | 'dlq' | 'replies' | 'rejections' | 'progress' | 'scores'
  >,
  partitions: TopicPartitions,
): Outputs {
  const { processed, dlq, replies, rejections, progress, scores } = topics;
  return new Outputs(
    { processed, dlq, replies, rejections, progress, emitted: { scores } },
    partitions,
  );
}

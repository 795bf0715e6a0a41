/**
 * Every reply of a request/response event is built here, for its three outcomes:
 * - `processed` / `rejected`: once the event's processed (or dead-letter) record is
 *   acknowledged downstream, with its downstream position; the processed event is spliced
 *   into the reply as it was delivered, not parsed back;
 * - `dropped`: a step dropped the event, so nothing goes downstream; the reply itself is an
 *   outbound record of the batch (logged and delivered like the others).
 *
 * Replies are keyed by the waiting edge's instance, which answers its client (200 / 422).
 * Replies after acknowledgement are best effort: one lost in a crash only means the edge
 * answers 504 after its timeout; the event itself is safe and its receipt still works.
 */
import type { Producer } from '../../../lib/kafka/port';
import { HEADER_ID } from '../../../lib/envelope';
import type { TopicPartitions } from '../../../lib/kafka/partitioner';
import type { Logger } from '../../../lib/logger';
import { readDlqHeaders } from '../../../lib/records/dlq';
import { encodeReply } from '../../../lib/records/reply';
import type { OutboundRecord } from './record';

export interface ReplierDeps {
  producer: Pick<Producer, 'sendBatch'>;
  partitions: TopicPartitions;
  /** The replies topic. */
  topic: string;
  logger: Logger;
}

export class Replier {
  private readonly log: Logger;

  constructor(private readonly deps: ReplierDeps) {
    this.log = deps.logger.child({ module: 'replier' });
  }

  /** The reply record of a dropped request/response event (delivered with the batch). */
  dropped(
    event: { id: string; replyTo: string },
    outcome: { reason: string; step?: string },
    source: OutboundRecord['source'],
  ): OutboundRecord {
    const { topic, partitions } = this.deps;
    const value = encodeReply({
      id: event.id,
      replyTo: event.replyTo,
      outcome: 'dropped',
      reason: outcome.reason,
      step: outcome.step,
      at: new Date().toISOString(),
    });
    return {
      topic,
      partition: partitions.partition(topic, event.replyTo),
      key: event.replyTo,
      value,
      headers: { [HEADER_ID]: event.id },
      source,
      kind: 'side',
    };
  }

  /** Listens to acknowledgements: replies for the processed and dead-letter records that carry `replyTo`. */
  readonly acknowledged = (
    records: readonly OutboundRecord[],
    offsets: readonly string[],
  ): void => {
    const messages: { key: string; value: Buffer; partition: number }[] = [];
    records.forEach((r, i) => {
      if (!r.replyTo || r.kind === 'side') return;
      messages.push({
        key: r.replyTo,
        value: this.replyValue(r, r.replyTo, offsets[i]!),
        partition: this.deps.partitions.partition(this.deps.topic, r.replyTo),
      });
    });
    if (messages.length === 0) return;
    this.deps.producer
      .sendBatch({ topicMessages: [{ topic: this.deps.topic, messages }] })
      .catch((err: unknown) =>
        this.log.warn({ err, replies: messages.length }, 'reply_send_failed'),
      );
  };

  private replyValue(r: OutboundRecord, replyTo: string, offset: string): Buffer {
    const position = { topic: r.topic, partition: r.partition, offset };
    const at = new Date().toISOString();
    const base = { id: r.headers[HEADER_ID] ?? '', replyTo, position, at };
    if (r.kind === 'processed') return encodeReply({ ...base, outcome: 'processed' }, r.value);
    const dead = readDlqHeaders(r.headers);
    return encodeReply({ ...base, outcome: 'rejected', reason: dead?.reason, step: dead?.step });
  }
}

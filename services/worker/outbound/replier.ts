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
import type { Logger } from '../../../lib/logger';
import type { Outputs, ReplyOut } from './outputs';
import type { OutboundRecord } from './record';

export interface ReplierDeps {
  producer: Pick<Producer, 'sendBatch'>;
  /** The outputs registry (the replies output). */
  outputs: Outputs;
  logger: Logger;
}

export class Replier {
  private readonly log: Logger;

  constructor(private readonly deps: ReplierDeps) {
    this.log = deps.logger.child({ module: 'replier' });
  }

  /** Listens to acknowledgements: replies for the processed and dead-letter records that carry `replyTo`. */
  readonly acknowledged = (
    records: readonly OutboundRecord[],
    offsets: readonly string[],
  ): void => {
    const messages: { key: string; value: Buffer; partition: number }[] = [];
    let topic = '';
    records.forEach((r, i) => {
      if (!r.replyTo || r.outcome.kind === 'side') return;
      const reply = this.deps.outputs.encode('replies', this.replyOf(r, r.replyTo, offsets[i]!));
      topic = reply.topic;
      messages.push({ key: reply.key, value: reply.value, partition: reply.partition });
    });
    if (messages.length === 0) return;
    this.deps.producer
      .sendBatch({ topicMessages: [{ topic, messages }] })
      .catch((err: unknown) =>
        this.log.warn({ err, replies: messages.length }, 'reply_send_failed'),
      );
  };

  private replyOf(r: OutboundRecord, replyTo: string, offset: string): ReplyOut {
    const position = { topic: r.topic, partition: r.partition, offset };
    const at = new Date().toISOString();
    const base = { id: r.id, replyTo, position, at };
    const { outcome } = r;
    if (outcome.kind === 'processed')
      return { reply: { ...base, outcome: 'processed' as const }, resultJson: r.value };
    return {
      reply: {
        ...base,
        outcome: 'rejected' as const,
        reason: outcome.kind === 'dlq' ? outcome.reason : undefined,
        step: outcome.kind === 'dlq' ? outcome.step : undefined,
      },
    };
  }
}

/** The reply record of a dropped request/response event: an outbound record of its chunk. */
export function droppedReply(
  outputs: Pick<Outputs, 'reply'>,
  event: { id: string; replyTo: string },
  outcome: { reason: string; step?: string },
  source: OutboundRecord['source'],
): OutboundRecord {
  const reply = {
    id: event.id,
    replyTo: event.replyTo,
    outcome: 'dropped' as const,
    reason: outcome.reason,
    step: outcome.step,
    at: new Date().toISOString(),
  };
  return outputs.reply({ reply }, { id: event.id, source });
}

/**
 * Replies for request/response events: once an outbound record that carries the
 * `intake-reply-to` header (the processed or dead-letter record of such an event) is
 * acknowledged downstream, the worker tells the waiting edge through the replies topic,
 * with the processed result (or the rejection reason) and the downstream position.
 *
 * Replies are best effort: a reply lost in a crash only means the edge answers 504 after
 * its timeout; the event itself is safe and its receipt still works.
 */
import type { Producer } from 'kafkajs';
import { HEADER_REPLY_TO } from '../../../lib/envelope';
import type { TopicPartitions } from '../../../lib/kafka/partitioner';
import type { Logger } from '../../../lib/logger';
import type { Reply } from '../../../lib/replies';

export interface DeliveredRecord {
  topic: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
  value: Buffer | string;
}

export class Replier {
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      producer: Pick<Producer, 'send'>;
      partitions: TopicPartitions;
      topics: { processed: string; dlq: string; replies: string };
      logger: Logger;
    },
  ) {
    this.log = deps.logger.child({ module: 'replier' });
  }

  delivered(records: DeliveredRecord[]): void {
    const replies = records.flatMap((r) => {
      const reply = this.replyFor(r);
      return reply ? [reply] : [];
    });
    if (replies.length === 0) return;
    const topic = this.deps.topics.replies;
    this.deps.producer
      .send({
        topic,
        messages: replies.map((r) => ({
          key: r.replyTo,
          value: JSON.stringify(r),
          partition: this.deps.partitions.partition(topic, r.replyTo),
        })),
      })
      .catch((err: unknown) =>
        this.log.warn({ err, replies: replies.length }, 'reply_send_failed'),
      );
  }

  private replyFor(r: DeliveredRecord): Reply | null {
    const replyTo = r.headers[HEADER_REPLY_TO];
    if (!replyTo) return null;
    const position = { topic: r.topic, partition: r.partition, offset: r.offset };
    const at = new Date().toISOString();
    const id = r.headers['intake-id'] ?? '';
    if (r.topic === this.deps.topics.processed) {
      return {
        id,
        replyTo,
        outcome: 'processed',
        result: JSON.parse(r.value.toString()) as unknown,
        position,
        at,
      };
    }
    if (r.topic === this.deps.topics.dlq) {
      return {
        id,
        replyTo,
        outcome: 'rejected',
        reason: r.headers['intake-dlq-reason'],
        step: r.headers['intake-dlq-step'],
        position,
        at,
      };
    }
    return null;
  }
}

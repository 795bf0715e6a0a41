/**
 * Forget requests in the worker (lib/records/forget.ts): it follows the forget topic and,
 * for each forgotten event key, drops the key's score state it holds (`ScoreStep.drop`)
 * and writes a tombstone for the key to the compacted scores topic, in the partition its
 * scores live in (the key's hash, as the scorer writes them): every edge's score view
 * then deletes it, so `GET /v1/visitors/{id}/score` answers 404, and compaction removes
 * the older records.
 *
 * Every worker follows the whole topic (a key's state may be on any of them after a
 * rebalance), and writes the tombstones again at each start: idempotent, and it also
 * removes a score that an event accepted before the edges applied the forget re-created.
 * The scores are keyed by visitor, not by source: forgetting a key forgets its score
 * whatever source sent the events. A broker without the forget topic (a fleet created
 * before it): logged (`forget_topic_missing`), and nothing is followed.
 */
import type { Logger } from '../../../lib/logger';
import type { KafkaClient, Producer } from '../../../lib/kafka/port';
import type { TopicPartitions } from '../../../lib/kafka/partitioner';
import type { ForgetRecord } from '../../../lib/records/forget';
import { Forgotten } from '../../../lib/sources/forgotten';
import type { ScoreState } from '../processing/processing';

export interface WorkerForgetsDeps {
  kafka: KafkaClient;
  topics: { forgets: string; scores: string };
  /** The scorer's state, when the pipeline scores. */
  scorer: Pick<ScoreState, 'drop'> | null;
  producer: Producer;
  partitions: TopicPartitions;
  logger: Logger;
}

export class WorkerForgets {
  private readonly forgotten: Forgotten;
  private readonly log: Logger;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly deps: WorkerForgetsDeps) {
    this.log = deps.logger.child({ module: 'forget' });
    this.forgotten = new Forgotten({
      kafka: deps.kafka,
      topic: deps.topics.forgets,
      logger: deps.logger,
      onForget: (record) => this.forget(record),
    });
  }

  private active = false;

  async start(): Promise<void> {
    const { forgets } = this.deps.topics;
    const admin = this.deps.kafka.admin();
    await admin.connect();
    const exists = (await admin.listTopics().finally(() => admin.disconnect())).includes(forgets);
    if (!exists) {
      this.log.warn({ topic: forgets }, 'forget_topic_missing');
      return;
    }
    this.active = true;
    await this.forgotten.start();
  }

  private forget(record: ForgetRecord): void {
    // Dropped at once (before the chunks that follow), logged once the tombstone is written.
    const dropped = Promise.resolve(this.deps.scorer?.drop(record.key) ?? false).catch(() => false);
    const { scores } = this.deps.topics;
    const tombstone = {
      key: record.key,
      value: null,
      partition: this.deps.partitions.partition(scores, record.key),
    };
    // In order, one at a time: a failed write is logged; the next start writes it again.
    this.pending = this.pending.then(() =>
      this.deps.producer
        .sendBatch({ topicMessages: [{ topic: scores, messages: [tombstone] }] })
        .then(
          async () =>
            this.log.info({ source: record.source, dropped: await dropped }, 'key_forgotten'),
          (err: unknown) => this.log.warn({ error: String(err) }, 'forget_tombstone_failed'),
        ),
    );
  }

  async stop(): Promise<void> {
    await this.pending;
    if (this.active) await this.forgotten.stop();
  }
}

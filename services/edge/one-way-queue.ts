/**
 * One-way events (`?ack=none`): answered `204` at once, then sent to Kafka in the
 * background in batches. By design they may be lost: when the queue is full (events are
 * dropped at the door, never blocking other traffic), when Kafka rejects a batch, or in a
 * crash. Every drop is counted by reason, so the loss is visible in metrics.
 */
import type { Envelope } from '../../lib/envelope';
import type { Logger } from '../../lib/logger';
import type { Sink } from './sink';

export type DropReason = 'queue-full' | 'send-failed' | 'shutdown';

export class OneWayQueue {
  private readonly queue: Envelope[] = [];
  private sending: Promise<void> | null = null;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      sink: Sink;
      maxEvents: number;
      batchSize: number;
      logger: Logger;
      onDrop: (count: number, reason: DropReason) => void;
      onSent?: (count: number) => void;
    },
  ) {
    this.log = deps.logger.child({ module: 'one-way-queue' });
  }

  /** Queues what fits and drops the rest; never waits. */
  enqueue(envelopes: Envelope[]): void {
    const room = this.closed ? 0 : Math.max(0, this.deps.maxEvents - this.queue.length);
    const taken = envelopes.slice(0, room);
    if (envelopes.length > taken.length)
      this.deps.onDrop(envelopes.length - taken.length, this.closed ? 'shutdown' : 'queue-full');
    this.queue.push(...taken);
    this.sending ??= this.drain().finally(() => {
      this.sending = null;
    });
  }

  get size(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.deps.batchSize);
      try {
        await this.deps.sink.store(batch);
        this.deps.onSent?.(batch.length);
      } catch (err) {
        this.deps.onDrop(batch.length, 'send-failed');
        this.log.warn({ err, dropped: batch.length }, 'one_way_batch_dropped');
      }
    }
  }

  /** Sends what is queued (before the producer closes); takes nothing new. */
  async close(): Promise<void> {
    this.closed = true;
    await this.sending;
  }
}

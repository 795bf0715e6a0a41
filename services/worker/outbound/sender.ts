/**
 * Sends the outbound log's entries downstream, in log order, and deletes each entry once
 * the downstream topic acknowledged it (acks=all, idempotent producer).
 *
 * Guarantees:
 * - An entry leaves the log only after Kafka acknowledged it; a crash before that leaves it
 *   in the log, and `resendPending()` on the next start sends it again (a duplicate
 *   downstream keeps the same `id`).
 * - Order: one request is in flight at a time and a failed chunk is retried (with
 *   backoff) before anything after it, so records of one partition keep their log order.
 * - While sends fail, `healthy` is false; the consumer stops taking new input until the
 *   backlog is delivered again (backpressure, never dropping).
 * - A delete that fails after the acknowledgement (a full disk) is retried on its own, with
 *   backoff: the acknowledged chunk is not sent again, and `healthy` is false meanwhile.
 */
import type { ProducerBatch, RecordMetadata } from 'kafkajs';
import { fromKafkaError } from '../../../lib/errors';
import { ACKS_ALL } from '../../../lib/kafka/client';
import { recordOffsets } from '../../../lib/kafka/offsets';
import { sleep } from '../../../lib/lifecycle';
import type { Logger } from '../../../lib/logger';
import { Backoff } from '../../../lib/retry';
import type { OutboundEntry, OutboundLogPort } from './log-port';

export interface SendPort {
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
  /** After a failed request: start over with a new producer id (lib/kafka/resettable-producer.ts). */
  reset?(): Promise<void>;
}

export interface SenderOptions {
  /** Largest request, in bytes. */
  maxRequestBytes: number;
  ackTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export const senderDefaults: SenderOptions = {
  maxRequestBytes: 1024 * 1024,
  ackTimeoutMs: 30_000,
  retryInitialMs: 100,
  retryMaxMs: 5_000,
};

export interface Delivered {
  entry: OutboundEntry;
  /** Offset of the record in its downstream partition. */
  offset: string;
}

export interface SenderDeps {
  log: OutboundLogPort;
  producer: SendPort;
  logger: Logger;
  options?: Partial<SenderOptions>;
  /** Called after entries were acknowledged and removed from the log. */
  onDelivered?: (delivered: Delivered[]) => void;
  /** Called after every failed request (for metrics). */
  onFailure?: (err: Error) => void;
}

export class OutboundSender {
  private readonly queue: OutboundEntry[] = [];
  private readonly options: SenderOptions;
  private readonly log: Logger;
  private loop: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  private failing: string | null = null;
  private stopped = false;
  private sentCount = 0;

  constructor(private readonly deps: SenderDeps) {
    this.options = { ...senderDefaults, ...deps.options };
    this.log = deps.logger.child({ module: 'outbound-sender' });
  }

  /** Queues entries that are already durable in the log. */
  dispatch(entries: OutboundEntry[]): void {
    if (entries.length === 0) return;
    this.queue.push(...entries);
    this.ensureLoop();
  }

  private ensureLoop(): void {
    this.loop ??= this.run().finally(() => {
      this.loop = null;
      if (this.queue.length > 0 && !this.stopped) this.ensureLoop();
      else for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  /** Sends everything still in the log (after a restart); resolves once all is acknowledged. */
  async resendPending(): Promise<number> {
    const pending: OutboundEntry[] = [];
    for await (const entry of this.deps.log.pending()) pending.push(entry);
    if (pending.length > 0) {
      this.log.info({ entries: pending.length }, 'resending_outbound_log');
      this.dispatch(pending);
      await this.drain();
    }
    return pending.length;
  }

  /** Entries queued and not yet acknowledged. */
  get backlog(): number {
    return this.queue.length;
  }

  get sent(): number {
    return this.sentCount;
  }

  /** False while requests fail; the reason is in `lastError`. */
  get healthy(): boolean {
    return this.failing === null;
  }

  get lastError(): string | null {
    return this.failing;
  }

  /** Resolves when everything queued so far is acknowledged. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && !this.loop) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retrying; what is unsent stays in the log for the next start. */
  stop(): void {
    this.stopped = true;
  }

  private async run(): Promise<void> {
    const backoff = this.newBackoff();
    while (this.queue.length > 0 && !this.stopped) {
      const chunk = this.takeChunk();
      try {
        const metadata = await this.deps.producer.sendBatch({
          acks: ACKS_ALL,
          timeout: this.options.ackTimeoutMs,
          topicMessages: groupByTopic(chunk),
        });
        await this.removeAcknowledged(chunk);
        this.queue.splice(0, chunk.length);
        this.sentCount += chunk.length;
        this.failing = null;
        backoff.reset();
        const offsets = recordOffsets(chunk, metadata);
        this.deps.onDelivered?.(chunk.map((entry, i) => ({ entry, offset: offsets[i]! })));
      } catch (err) {
        const error = fromKafkaError(err, 'downstream send failed');
        this.failing = error.message;
        this.deps.onFailure?.(error);
        const wait = backoff.next();
        this.log.warn(
          { err: error, entries: chunk.length, retryInMs: Math.round(wait) },
          'outbound_send_failed',
        );
        // The next request must not reuse the failed one's sequence numbers.
        await this.deps.producer.reset?.().catch((e: unknown) => {
          this.log.warn({ err: e }, 'producer_reset_failed');
        });
        await sleep(wait);
      }
    }
  }

  /**
   * Deletes an acknowledged chunk from the log, retrying until it succeeds (or the sender
   * stops: the entries then stay in the log and are resent at the next start).
   */
  private async removeAcknowledged(chunk: OutboundEntry[]): Promise<void> {
    const backoff = this.newBackoff();
    for (;;) {
      try {
        await this.deps.log.remove(chunk.map((e) => e.seq));
        return;
      } catch (err) {
        this.failing = `outbound log delete failing: ${(err as Error).message}`;
        const wait = backoff.next();
        this.log.warn(
          { err, entries: chunk.length, retryInMs: Math.round(wait) },
          'outbound_remove_failed',
        );
        if (this.stopped) return;
        await sleep(wait);
      }
    }
  }

  private newBackoff(): Backoff {
    return new Backoff(this.options.retryInitialMs, this.options.retryMaxMs);
  }

  private takeChunk(): OutboundEntry[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const size = this.queue[n]!.value.length + this.queue[n]!.key.length + 64;
      if (n > 0 && bytes + size > this.options.maxRequestBytes) break;
      bytes += size;
      n += 1;
    }
    return this.queue.slice(0, n);
  }
}

function groupByTopic(entries: OutboundEntry[]): ProducerBatch['topicMessages'] {
  const byTopic = new Map<
    string,
    { key: string; value: Buffer; partition: number; headers: Record<string, string> }[]
  >();
  for (const e of entries) {
    const list = byTopic.get(e.topic) ?? [];
    list.push({ key: e.key, value: e.value, partition: e.partition, headers: e.headers });
    byTopic.set(e.topic, list);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

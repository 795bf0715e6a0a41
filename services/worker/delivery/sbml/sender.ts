/**
 * Sends outbound records downstream (acks=all, idempotent producer), in order, and tells
 * its listeners what was acknowledged. With an outbound log (SBML) the records are already
 * durable in it, and each is deleted once acknowledged; without one, `send()` resolves once
 * its records are acknowledged (the caller commits its input only then).
 *
 * Guarantees:
 * - A record leaves the log only after Kafka acknowledged it; a crash before that leaves it
 *   in the log, and `resendPending()` on the next start sends it again (a duplicate
 *   downstream keeps the same `id`).
 * - Order: one request is in flight at a time and a failed chunk is retried (with
 *   backoff) before anything after it, so records of one partition keep their order.
 * - While sends fail, `healthy` is false; the consumer stops taking new input until the
 *   backlog is delivered again (backpressure, never dropping).
 * - The delete of an acknowledged chunk overlaps the send of the next one; a delete that
 *   fails (a full disk) is retried on its own, with backoff, before the next delete: the
 *   acknowledged chunk is not sent again, and `healthy` is false meanwhile.
 */
import { fromKafkaError } from '../../../../lib/errors';
import { recordOffsets } from '../../../../lib/kafka/offsets';
import type { Ack, Producer } from '../../../../lib/kafka/port';
import { sleep } from '../../../../lib/lifecycle';
import type { Logger } from '../../../../lib/logger';
import { Backoff } from '../../../../lib/retry';
import type { OutboundLogPort } from './log-port';
import type { AcknowledgedListener, OutboundRecord } from '../../outbound/record';
import { groupByTopic, requestDefaults, requestLength } from '../../outbound/requests';
import type { RequestBounds } from '../../outbound/requests';

/** The part of the port's producer the sender uses. */
export type SendPort = Pick<Producer, 'sendBatch' | 'reset'>;

export interface SenderOptions extends RequestBounds {
  ackTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export const senderDefaults: SenderOptions = {
  ...requestDefaults,
  ackTimeoutMs: 30_000,
  retryInitialMs: 100,
  retryMaxMs: 5_000,
};

/** Records of the log handed to the sender at a time while resending. */
const RESEND_SLICE = 5000;

export interface SenderDeps {
  /** The outbound log the records are durable in (SBML), or null (send and wait). */
  log: OutboundLogPort | null;
  producer: SendPort;
  logger: Logger;
  options?: Partial<SenderOptions>;
  /** Called after every failed request (for metrics). */
  onFailure?: (err: Error) => void;
}

interface Waiter {
  /** Resolves once this many records (counted since start) are acknowledged. */
  upTo: number;
  resolve: () => void;
}

export class OutboundSender {
  private readonly queue: OutboundRecord[] = [];
  private readonly options: SenderOptions;
  private readonly log: Logger;
  private readonly listeners: AcknowledgedListener[] = [];
  private loop: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  private sendWaiters: Waiter[] = [];
  private queued = 0;
  private acknowledgedCount = 0;
  private failing: string | null = null;
  private removeFailing: string | null = null;
  private stopped = false;

  constructor(private readonly deps: SenderDeps) {
    this.options = { ...senderDefaults, ...deps.options };
    this.log = deps.logger.child({ module: 'outbound-sender' });
  }

  /** Adds a listener of acknowledged records (progress, replies, metrics). */
  onAcknowledged(listener: AcknowledgedListener): void {
    this.listeners.push(listener);
  }

  /** Queues records to send (already durable in the log, when there is one). */
  dispatch(records: readonly OutboundRecord[]): void {
    if (records.length === 0) return;
    for (const r of records) this.queue.push(r);
    this.queued += records.length;
    this.ensureLoop();
  }

  /** Queues records and resolves once all of them are acknowledged. */
  send(records: readonly OutboundRecord[]): Promise<void> {
    this.dispatch(records);
    if (this.acknowledgedCount >= this.queued) return Promise.resolve();
    return new Promise((resolve) => this.sendWaiters.push({ upTo: this.queued, resolve }));
  }

  private ensureLoop(): void {
    this.loop ??= this.run().finally(() => {
      this.loop = null;
      if (this.queue.length > 0 && !this.stopped) this.ensureLoop();
      else for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  /**
   * Sends everything still in the log (after a restart), in order; resolves once all is
   * acknowledged. Sending starts with the first slice read, while the rest is read.
   */
  async resendPending(): Promise<number> {
    const log = this.deps.log;
    if (!log) return 0;
    const entries = log.stats().entries;
    if (entries > 0) this.log.info({ records: entries }, 'resending_outbound_log');
    let resent = 0;
    let slice: OutboundRecord[] = [];
    for await (const record of log.pending()) {
      slice.push(record);
      if (slice.length < RESEND_SLICE) continue;
      this.dispatch(slice);
      resent += slice.length;
      slice = [];
      await new Promise((resolve) => setImmediate(resolve)); // the sender's acks, next request
    }
    this.dispatch(slice);
    resent += slice.length;
    if (resent > 0) await this.drain();
    return resent;
  }

  /** Records queued and not yet acknowledged. */
  get backlog(): number {
    return this.queue.length;
  }

  /** False while requests (or deletes from the log) fail; the reason is in `lastError`. */
  get healthy(): boolean {
    return this.failing === null && this.removeFailing === null;
  }

  get lastError(): string | null {
    return this.failing ?? this.removeFailing;
  }

  /** Resolves when everything queued so far is acknowledged (and deleted from the log). */
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
    let removing: Promise<void> = Promise.resolve();
    while (this.queue.length > 0 && !this.stopped) {
      const n = requestLength(this.queue, 0, this.options);
      const chunk = this.queue.slice(0, n);
      let metadata: Ack[];
      try {
        metadata = await this.deps.producer.sendBatch({
          timeoutMs: this.options.ackTimeoutMs,
          topicMessages: groupByTopic(chunk),
        });
      } catch (err) {
        const error = fromKafkaError(err, 'downstream send failed');
        this.failing = error.message;
        this.deps.onFailure?.(error);
        const wait = backoff.next();
        this.log.warn(
          { err: error, records: chunk.length, retryInMs: Math.round(wait) },
          'outbound_send_failed',
        );
        // The next request must not reuse the failed one's sequence numbers.
        await this.deps.producer.reset().catch((e: unknown) => {
          this.log.warn({ err: e }, 'producer_reset_failed');
        });
        await sleep(wait);
        continue;
      }
      this.failing = null;
      backoff.reset();
      // One delete in flight: the previous chunk's, overlapping this chunk's send.
      await removing;
      removing = this.removeAcknowledged(chunk);
      this.queue.splice(0, n);
      this.acknowledged(chunk, recordOffsets(chunk, metadata));
    }
    await removing;
  }

  private acknowledged(chunk: OutboundRecord[], offsets: string[]): void {
    this.acknowledgedCount += chunk.length;
    for (const listener of this.listeners) listener(chunk, offsets);
    if (this.sendWaiters.length === 0) return;
    const done = this.sendWaiters.filter((w) => w.upTo <= this.acknowledgedCount);
    this.sendWaiters = this.sendWaiters.filter((w) => w.upTo > this.acknowledgedCount);
    for (const w of done) w.resolve();
  }

  /**
   * Deletes an acknowledged chunk from the log, retrying until it succeeds (or the sender
   * stops: the records then stay in the log and are resent at the next start).
   */
  private async removeAcknowledged(chunk: OutboundRecord[]): Promise<void> {
    const log = this.deps.log;
    if (!log) return;
    const seqs: number[] = [];
    for (const r of chunk) if (r.seq !== undefined) seqs.push(r.seq);
    const backoff = this.newBackoff();
    for (;;) {
      try {
        await log.remove(seqs);
        this.removeFailing = null;
        return;
      } catch (err) {
        this.removeFailing = `outbound log delete failing: ${(err as Error).message}`;
        const wait = backoff.next();
        this.log.warn(
          { err, records: chunk.length, retryInMs: Math.round(wait) },
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
}

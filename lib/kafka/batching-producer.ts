/**
 * Coalesces concurrent sends into few `sendBatch` requests through ONE long-lived
 * producer (kafkajs has no linger, so we aggregate here).
 *
 * Guarantees:
 * - `send()` resolves only after Kafka acknowledged every record of the call (acks=all),
 *   with each record's partition and offset; it rejects with a retriable `IntakeError`
 *   when Kafka does not acknowledge within `ackTimeoutMs` (the records may still land:
 *   a client retry with the same ids is then a duplicate with the same id, never a loss).
 * - Memory is bounded: queued plus in-flight bytes never exceed `maxInFlightBytes`; a send
 *   that would exceed it is rejected at once with `OVERLOADED` and a `retryAfterSeconds`
 *   derived from the measured drain rate.
 * - Order: one request is in flight at a time and records keep their call order, so
 *   records with the same key (same partition) are appended in the order sent.
 */
import type { IHeaders, ProducerBatch, RecordMetadata } from 'kafkajs';
import { IntakeError, fromKafkaError } from '../errors';
import type { Logger } from '../logger';
import { ACKS_ALL } from './client';
import { recordOffsets } from './offsets';

export interface PartitionedRecord {
  partition: number;
  key: string;
  value: string | Buffer;
  headers?: IHeaders;
}

export interface RecordPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** The part of a kafkajs `Producer` this module uses (a fake in unit tests). */
export interface SendBatchPort {
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
  /** After a failed request: start over with a new producer id (see resettable-producer.ts). */
  reset?(): Promise<void>;
}

export interface BatchingProducerOptions {
  /** How long an idle producer waits to gather more records before sending. */
  lingerMs: number;
  /** Send as soon as the queue holds this many bytes. */
  maxBatchBytes: number;
  /** Bound of queued plus in-flight bytes. */
  maxInFlightBytes: number;
  /** A send not acknowledged within this time is answered with KAFKA_UNAVAILABLE. */
  ackTimeoutMs: number;
}

export const batchingDefaults: BatchingProducerOptions = {
  lingerMs: 2,
  maxBatchBytes: 1024 * 1024,
  maxInFlightBytes: 64 * 1024 * 1024,
  ackTimeoutMs: 10_000,
};

interface Pending {
  topic: string;
  records: PartitionedRecord[];
  bytes: number;
  settled: boolean;
  queued: boolean;
  timer: NodeJS.Timeout;
  resolve(positions: RecordPosition[]): void;
  reject(err: IntakeError): void;
}

export interface BatchingProducerStats {
  batches: number;
  records: number;
  failedBatches: number;
  inFlightBytes: number;
}

const DRAIN_WINDOW_MS = 10_000;

export class BatchingProducer {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private sendingBytes = 0;
  private sending: Promise<void> | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly acked: { at: number; bytes: number }[] = [];
  private readonly counters = { batches: 0, records: 0, failedBatches: 0 };
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      producer: SendBatchPort;
      logger: Logger;
      options?: Partial<BatchingProducerOptions>;
      /** Called after each request with its record count and outcome (for metrics). */
      onBatch?: (records: number, bytes: number, ok: boolean, seconds: number) => void;
    },
    private readonly options: BatchingProducerOptions = { ...batchingDefaults, ...deps.options },
  ) {
    this.log = deps.logger.child({ module: 'batching-producer' });
  }

  /** Resolves only after Kafka acknowledged (acks=all) every record of this call. */
  send(topic: string, records: PartitionedRecord[]): Promise<RecordPosition[]> {
    if (this.closed) {
      return Promise.reject(
        new IntakeError('SHUTTING_DOWN', 'the producer is shutting down', { retryAfterSeconds: 1 }),
      );
    }
    if (records.length === 0) return Promise.resolve([]);
    const bytes = records.reduce((sum, r) => sum + recordBytes(r), 0);
    if (this.inFlightBytes + bytes > this.options.maxInFlightBytes) {
      return Promise.reject(
        new IntakeError('OVERLOADED', 'too many bytes waiting for Kafka', {
          retryAfterSeconds: this.retryAfterSeconds(),
        }),
      );
    }
    return new Promise<RecordPosition[]>((resolve, reject) => {
      const pending: Pending = {
        topic,
        records,
        bytes,
        settled: false,
        queued: true,
        resolve,
        reject,
        timer: setTimeout(() => this.timeOut(pending), this.options.ackTimeoutMs),
      };
      this.queue.push(pending);
      this.queuedBytes += bytes;
      this.schedule();
    });
  }

  /** Bytes accepted by `send()` and not yet acknowledged or failed. */
  get inFlightBytes(): number {
    return this.queuedBytes + this.sendingBytes;
  }

  stats(): BatchingProducerStats {
    return { ...this.counters, inFlightBytes: this.inFlightBytes };
  }

  /** Seconds until the current backlog should have drained, from the measured ack rate. */
  retryAfterSeconds(now = Date.now()): number {
    while (this.acked.length > 0 && this.acked[0]!.at < now - DRAIN_WINDOW_MS) this.acked.shift();
    const bytesPerSecond =
      this.acked.reduce((sum, a) => sum + a.bytes, 0) / (DRAIN_WINDOW_MS / 1000);
    if (bytesPerSecond <= 0) return 5;
    return Math.min(60, Math.max(1, Math.ceil(this.inFlightBytes / bytesPerSecond)));
  }

  /** Takes no new sends, then waits until everything accepted was sent or failed. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.sending) {
      if (!this.sending) this.flushNow();
      await this.sending;
    }
  }

  private schedule(): void {
    if (this.sending) return; // the running request's completion sends what queued meanwhile
    if (this.queuedBytes >= this.options.maxBatchBytes || this.closed) {
      this.flushNow();
      return;
    }
    if (this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.flushNow();
    }, this.options.lingerMs);
  }

  private flushNow(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (this.sending || this.queue.length === 0) return;
    const batch: Pending[] = [];
    let bytes = 0;
    while (
      this.queue.length > 0 &&
      (batch.length === 0 || bytes + this.queue[0]!.bytes <= this.options.maxBatchBytes)
    ) {
      const next = this.queue.shift()!;
      next.queued = false;
      batch.push(next);
      bytes += next.bytes;
    }
    this.queuedBytes -= bytes;
    this.sendingBytes += bytes;
    // sendBatch never rejects: it settles every caller itself.
    this.sending = this.sendBatch(batch, bytes).then(() => {
      this.sending = null;
      if (this.queue.length > 0) this.flushNow();
    });
  }

  private async sendBatch(batch: Pending[], bytes: number): Promise<void> {
    const started = process.hrtime.bigint();
    const byTopic = new Map<string, PartitionedRecord[]>();
    for (const p of batch) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(...p.records);
      byTopic.set(p.topic, list);
    }
    const records = batch.reduce((n, p) => n + p.records.length, 0);
    try {
      const metadata = await this.deps.producer.sendBatch({
        acks: ACKS_ALL,
        timeout: this.options.ackTimeoutMs,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.sendingBytes -= bytes; // before the callers see their answer
      this.counters.batches += 1;
      this.counters.records += records;
      this.acked.push({ at: Date.now(), bytes });
      this.deps.onBatch?.(records, bytes, true, seconds);
      this.resolveBatch(batch, metadata);
    } catch (err) {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.sendingBytes -= bytes;
      this.counters.failedBatches += 1;
      this.deps.onBatch?.(records, bytes, false, seconds);
      const error = fromKafkaError(err, 'Kafka did not acknowledge the batch');
      this.log.warn({ err: error, records }, 'produce_failed');
      for (const p of batch) this.settle(p, () => p.reject(error));
      // The next request must not reuse the failed one's sequence numbers.
      await this.deps.producer.reset?.().catch((e: unknown) => {
        this.log.warn({ err: e }, 'producer_reset_failed');
      });
    }
  }

  /** Offsets run across the whole request, in the order its records were sent. */
  private resolveBatch(batch: Pending[], metadata: RecordMetadata[]): void {
    const records = batch.flatMap((p) =>
      p.records.map((r) => ({ topic: p.topic, partition: r.partition })),
    );
    const offsets = recordOffsets(records, metadata);
    let i = 0;
    for (const p of batch) {
      const positions = p.records.map((r) => ({
        topic: p.topic,
        partition: r.partition,
        offset: offsets[i++]!,
      }));
      this.settle(p, () => p.resolve(positions));
    }
  }

  private timeOut(p: Pending): void {
    if (p.queued) {
      // Never sent: take it out, so a client retry does not become a duplicate.
      this.queue = this.queue.filter((q) => q !== p);
      this.queuedBytes -= p.bytes;
      p.queued = false;
    }
    this.settle(p, () =>
      p.reject(
        new IntakeError(
          'KAFKA_UNAVAILABLE',
          `Kafka did not acknowledge within ${this.options.ackTimeoutMs} ms`,
          {
            retryAfterSeconds: this.retryAfterSeconds(),
          },
        ),
      ),
    );
  }

  private settle(p: Pending, action: () => void): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    action();
  }
}

function recordBytes(r: PartitionedRecord): number {
  let bytes =
    Buffer.byteLength(r.key) +
    (typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length);
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    bytes +=
      k.length + (typeof v === 'string' ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 0);
  }
  return bytes + 64; // per-record overhead in the batch
}

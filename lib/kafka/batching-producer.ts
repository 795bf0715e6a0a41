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
 * - Order: records are spread over `lanes` by partition (partition modulo the number of
 *   lanes), each lane with its own producer and one request in flight, and records keep
 *   their call order within a lane; so records of one partition (one key) are appended in
 *   the order sent, while different partitions' requests overlap.
 *
 * Why lanes: an idempotent kafkajs producer keeps one request in flight, so with a
 * distant broker one producer spends most of its time waiting for acks. Several producers,
 * each owning a fixed share of the partitions, overlap those waits without giving up the
 * per-partition order or idempotence (at a 50 ms round trip, 3 lanes carried 1.3x the
 * events of one; against a local broker they change nothing: docs/performance.md).
 */
import { IntakeError, fromKafkaError } from '../errors';
import type { Logger } from '../logger';
import { DrainRate } from './drain-rate';
import { recordOffsets } from './offsets';
import type { Ack, Producer, RecordHeaders } from './port';

export interface PartitionedRecord {
  partition: number;
  key: string;
  value: string | Buffer;
  headers?: RecordHeaders;
}

export interface RecordPosition {
  topic: string;
  partition: number;
  offset: string;
}

/** The part of the port's `Producer` this module uses (a fake in unit tests). */
export type SendBatchPort = Pick<Producer, 'sendBatch' | 'reset'>;

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

/** One call of `send()`: answered when every part (one per lane it touches) is acknowledged. */
interface Call {
  settled: boolean;
  timer: NodeJS.Timeout;
  positions: RecordPosition[];
  parts: Part[];
  remaining: number;
  resolve(positions: RecordPosition[]): void;
  reject(err: IntakeError): void;
}

/** The records of one call that go through one lane, with their indexes in the call. */
interface Part {
  call: Call;
  lane: Lane;
  topic: string;
  records: PartitionedRecord[];
  /** Each record's index in the call; null: the part is the whole call, in order. */
  indexes: number[] | null;
  bytes: number;
  queued: boolean;
}

/** One producer with its queue; at most one request in flight. */
interface Lane {
  producer: SendBatchPort;
  queue: Part[];
  queuedBytes: number;
  sending: Promise<void> | null;
  lingerTimer: NodeJS.Timeout | null;
}

export interface BatchingProducerStats {
  batches: number;
  records: number;
  failedBatches: number;
  inFlightBytes: number;
  lanes: number;
}

export class BatchingProducer {
  private readonly lanes: Lane[];
  /** Bytes accepted by `send()` and not yet acknowledged or failed, over all lanes. */
  private bytes = 0;
  private closed = false;
  private readonly drained = new DrainRate();
  private readonly counters = { batches: 0, records: 0, failedBatches: 0 };
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      /** One producer, or one per lane (partition modulo the count picks the lane). */
      producer: SendBatchPort | readonly SendBatchPort[];
      logger: Logger;
      options?: Partial<BatchingProducerOptions>;
      /** Called after each request with its record count and outcome (for metrics). */
      onBatch?: (records: number, bytes: number, ok: boolean, seconds: number) => void;
      /** Called when queued records left the queue (taken into a request, or failed). */
      onDequeue?: () => void;
    },
    private readonly options: BatchingProducerOptions = { ...batchingDefaults, ...deps.options },
  ) {
    this.log = deps.logger.child({ module: 'batching-producer' });
    const producers = ([] as SendBatchPort[]).concat(deps.producer);
    if (producers.length === 0) throw new Error('BatchingProducer needs at least one producer');
    this.lanes = producers.map((producer) => ({
      producer,
      queue: [],
      queuedBytes: 0,
      sending: null,
      lingerTimer: null,
    }));
  }

  /** Resolves only after Kafka acknowledged (acks=all) every record of this call. */
  send(topic: string, records: PartitionedRecord[]): Promise<RecordPosition[]> {
    if (this.closed) {
      return Promise.reject(
        new IntakeError('SHUTTING_DOWN', 'the producer is shutting down', { retryAfterSeconds: 1 }),
      );
    }
    if (records.length === 0) return Promise.resolve([]);
    const lanes = this.lanes.length;
    // Per-record sizes only when the records are spread over several lanes.
    const sizes = lanes > 1 ? new Array<number>(records.length) : null;
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const b = recordBytes(records[i]!);
      if (sizes) sizes[i] = b;
      bytes += b;
    }
    if (this.bytes + bytes > this.options.maxInFlightBytes) {
      return Promise.reject(
        new IntakeError('OVERLOADED', 'too many bytes waiting for Kafka', {
          retryAfterSeconds: this.retryAfterSeconds(),
        }),
      );
    }
    return new Promise<RecordPosition[]>((resolve, reject) => {
      const call: Call = {
        settled: false,
        positions: new Array<RecordPosition>(records.length),
        parts: [],
        remaining: 0,
        resolve,
        reject,
        timer: setTimeout(() => this.timeOut(call), this.options.ackTimeoutMs),
      };
      if (!sizes) {
        // One lane: the call's records are its one part, in call order.
        const lane = this.lanes[0]!;
        call.parts.push({ call, lane, topic, records, indexes: null, bytes, queued: true });
      } else {
        const byLane = new Array<Part | undefined>(lanes);
        for (let i = 0; i < records.length; i++) {
          const record = records[i]!;
          const l = record.partition % lanes;
          let part = byLane[l];
          if (!part) {
            const lane = this.lanes[l]!;
            part = { call, lane, topic, records: [], indexes: [], bytes: 0, queued: true };
            byLane[l] = part;
            call.parts.push(part);
          }
          part.records.push(record);
          part.indexes!.push(i);
          part.bytes += sizes[i]!;
        }
      }
      call.remaining = call.parts.length;
      this.bytes += bytes;
      for (const part of call.parts) {
        part.lane.queue.push(part);
        part.lane.queuedBytes += part.bytes;
        this.schedule(part.lane);
      }
    });
  }

  /** Bytes accepted by `send()` and not yet acknowledged or failed. */
  get inFlightBytes(): number {
    return this.bytes;
  }

  /** Bytes accepted by `send()` and not yet taken into a Kafka request. */
  get queuedBytes(): number {
    let bytes = 0;
    for (const lane of this.lanes) bytes += lane.queuedBytes;
    return bytes;
  }

  stats(): BatchingProducerStats {
    return { ...this.counters, inFlightBytes: this.bytes, lanes: this.lanes.length };
  }

  /** Seconds until the current backlog should have drained, from the measured ack rate. */
  retryAfterSeconds(now = Date.now()): number {
    return this.drained.retryAfterSeconds(this.bytes, now);
  }

  /** Takes no new sends, then waits until everything accepted was sent or failed. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.lanes.map(async (lane) => {
        while (lane.queue.length > 0 || lane.sending) {
          if (!lane.sending) this.flushNow(lane);
          await lane.sending;
        }
      }),
    );
  }

  private schedule(lane: Lane): void {
    if (lane.sending) return; // the running request's completion sends what queued meanwhile
    if (lane.queuedBytes >= this.options.maxBatchBytes || this.closed) {
      this.flushNow(lane);
      return;
    }
    if (lane.lingerTimer) return;
    lane.lingerTimer = setTimeout(() => {
      lane.lingerTimer = null;
      this.flushNow(lane);
    }, this.options.lingerMs);
  }

  private flushNow(lane: Lane): void {
    if (lane.lingerTimer) {
      clearTimeout(lane.lingerTimer);
      lane.lingerTimer = null;
    }
    if (lane.sending || lane.queue.length === 0) return;
    const batch: Part[] = [];
    let bytes = 0;
    while (
      lane.queue.length > 0 &&
      (batch.length === 0 || bytes + lane.queue[0]!.bytes <= this.options.maxBatchBytes)
    ) {
      const next = lane.queue.shift()!;
      next.queued = false;
      batch.push(next);
      bytes += next.bytes;
    }
    lane.queuedBytes -= bytes;
    this.deps.onDequeue?.();
    // sendBatch never rejects: it settles every caller itself.
    lane.sending = this.sendBatch(lane, batch, bytes).then(() => {
      lane.sending = null;
      if (lane.queue.length > 0) this.flushNow(lane);
    });
  }

  private async sendBatch(lane: Lane, batch: Part[], bytes: number): Promise<void> {
    const started = process.hrtime.bigint();
    const byTopic = new Map<string, PartitionedRecord[]>();
    for (const p of batch) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(...p.records);
      byTopic.set(p.topic, list);
    }
    const records = batch.reduce((n, p) => n + p.records.length, 0);
    try {
      const metadata = await lane.producer.sendBatch({
        timeoutMs: this.options.ackTimeoutMs,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.bytes -= bytes; // before the callers see their answer
      this.counters.batches += 1;
      this.counters.records += records;
      this.drained.record(bytes);
      this.deps.onBatch?.(records, bytes, true, seconds);
      this.resolveBatch(batch, metadata);
    } catch (err) {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.bytes -= bytes;
      this.counters.failedBatches += 1;
      this.deps.onBatch?.(records, bytes, false, seconds);
      const error = fromKafkaError(err, 'Kafka did not acknowledge the batch');
      this.log.warn({ err: error, records }, 'produce_failed');
      for (const p of batch) this.fail(p.call, error);
      // The next request must not reuse the failed one's sequence numbers.
      await lane.producer.reset().catch((e: unknown) => {
        this.log.warn({ err: e }, 'producer_reset_failed');
      });
    }
  }

  /** Offsets run across the whole request, in the order its records were sent. */
  private resolveBatch(batch: Part[], metadata: Ack[]): void {
    const offsets = batchOffsets(batch, metadata);
    let i = 0;
    for (const p of batch) {
      const { records, indexes, call } = p;
      for (let j = 0; j < records.length; j++) {
        call.positions[indexes ? indexes[j]! : j] = {
          topic: p.topic,
          partition: records[j]!.partition,
          offset: offsets[i++]!,
        };
      }
      call.remaining -= 1;
      if (call.remaining === 0) this.settle(call, () => call.resolve(call.positions));
    }
  }

  private timeOut(call: Call): void {
    this.fail(
      call,
      new IntakeError(
        'KAFKA_UNAVAILABLE',
        `Kafka did not acknowledge within ${this.options.ackTimeoutMs} ms`,
        { retryAfterSeconds: this.retryAfterSeconds() },
      ),
    );
  }

  /**
   * Rejects the call, and takes its parts that were not sent yet out of their queues, so a
   * client retry does not become a duplicate of them.
   */
  private fail(call: Call, error: IntakeError): void {
    if (call.settled) return;
    let dequeued = false;
    for (const part of call.parts) {
      if (!part.queued) continue;
      part.lane.queue = part.lane.queue.filter((q) => q !== part);
      part.lane.queuedBytes -= part.bytes;
      this.bytes -= part.bytes;
      part.queued = false;
      dequeued = true;
    }
    this.settle(call, () => call.reject(error));
    if (dequeued) this.deps.onDequeue?.();
  }

  private settle(call: Call, action: () => void): void {
    if (call.settled) return;
    call.settled = true;
    clearTimeout(call.timer);
    action();
  }
}

/**
 * Each record's offset, in batch order: its partition's base offset plus the records of
 * that partition before it (`recordOffsets`), counted in numbers while they are exact.
 */
function batchOffsets(batch: Part[], metadata: Ack[]): string[] {
  let count = 0;
  for (const p of batch) count += p.records.length;
  const next = new Map<string, number[]>();
  let exact = true;
  for (const m of metadata) {
    const base = Number(m.baseOffset);
    if (!Number.isSafeInteger(base + count)) exact = false;
    let byPartition = next.get(m.topic);
    if (!byPartition) next.set(m.topic, (byPartition = []));
    byPartition[m.partition] = base;
  }
  if (!exact) {
    return recordOffsets(
      batch.flatMap((p) => p.records.map((r) => ({ topic: p.topic, partition: r.partition }))),
      metadata,
    );
  }
  const offsets = new Array<string>(count);
  let i = 0;
  for (const p of batch) {
    const byPartition = next.get(p.topic);
    for (const r of p.records) {
      const offset = byPartition?.[r.partition];
      if (offset === undefined) {
        offsets[i++] = '-1';
        continue;
      }
      offsets[i++] = String(offset);
      byPartition![r.partition] = offset + 1;
    }
  }
  return offsets;
}

function recordBytes(r: PartitionedRecord): number {
  let bytes =
    Buffer.byteLength(r.key) +
    (typeof r.value === 'string' ? Buffer.byteLength(r.value) : r.value.length);
  const headers = r.headers;
  if (headers) {
    for (const k in headers) {
      const v = headers[k];
      bytes +=
        k.length +
        (typeof v === 'string' ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 0);
    }
  }
  return bytes + 64; // per-record overhead in the batch
}

/**
 * Fakes for unit tests (never used by integration tests, which talk to a real broker).
 */
import pino from 'pino';
import type {
  ConsumerRunConfig,
  Kafka,
  KafkaMessage,
  ProducerBatch,
  RecordMetadata,
} from 'kafkajs';
import type { Envelope } from '../../lib/envelope';
import type { Health } from '../../lib/lifecycle';
import type { Logger } from '../../lib/logger';
import type { SendBatchPort } from '../../lib/kafka/batching-producer';
import { DrainRate } from '../../lib/kafka/drain-rate';
import type { Sink, StoredEvent } from '../../services/edge/sink';
import type { OutboundLogPort, OutboundLogStats } from '../../services/worker/outbound/log-port';
import type { OutboundRecord } from '../../services/worker/outbound/record';

export const silentLogger = (): Logger => pino({ level: 'silent' });

/** An outbound record for unit tests: `i` names it (key `k<i>`, value `v<i>`, id `id-<i>`). */
export function outboundRecord(
  i: number,
  over: Partial<OutboundRecord> & { sourceOffset?: number } = {},
): OutboundRecord {
  const { sourceOffset = i, ...rest } = over;
  return {
    topic: 'out',
    partition: 0,
    key: `k${i}`,
    value: Buffer.from(`v${i}`),
    headers: { 'intake-id': `id-${i}` },
    source: { partition: 0, offset: String(sourceOffset) },
    kind: 'processed',
    ...rest,
  };
}

/** A `sendBatch` that records each request and acknowledges it when told to. */
export class FakeBroker implements SendBatchPort {
  readonly requests: ProducerBatch[] = [];
  private readonly offsets = new Map<string, number>();
  private readonly waiting: (() => void)[] = [];
  /** When false, requests wait until `release()`. */
  autoAck = true;
  failWith: Error | null = null;
  /** How often the producer was started over (a new producer id). */
  resets = 0;

  reset(): Promise<void> {
    this.resets += 1;
    return Promise.resolve();
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.requests.push(batch);
    if (!this.autoAck) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failWith) throw this.failWith;
    const result: RecordMetadata[] = [];
    for (const { topic, messages } of batch.topicMessages ?? []) {
      const perPartition = new Map<number, number>();
      for (const m of messages)
        perPartition.set(m.partition ?? 0, (perPartition.get(m.partition ?? 0) ?? 0) + 1);
      for (const [partition, count] of perPartition) {
        const key = `${topic}/${partition}`;
        const base = this.offsets.get(key) ?? 0;
        this.offsets.set(key, base + count);
        result.push({ topicName: topic, partition, errorCode: 0, baseOffset: String(base) });
      }
    }
    return result;
  }

  release(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  get recordCount(): number {
    return this.requests.reduce(
      (n, b) => n + (b.topicMessages ?? []).reduce((m, t) => m + t.messages.length, 0),
      0,
    );
  }
}

/** An in-memory sink: stores envelopes, or fails with the configured error. */
export class MemorySink implements Sink {
  readonly stored: Envelope[] = [];
  failWith: Error | null = null;
  healthy = true;

  store(envelopes: Envelope[]): Promise<StoredEvent[]> {
    if (this.failWith) return Promise.reject(this.failWith);
    const first = this.stored.length;
    this.stored.push(...envelopes);
    return Promise.resolve(
      envelopes.map((e, i) => ({ id: e.id, partition: 0, offset: String(first + i) })),
    );
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  /** Tests fill it to see a stream stop reading. */
  full = false;

  hasRoom(): boolean {
    return !this.full;
  }

  /** Bytes the sink reports queued for Kafka; tests set it, then `dequeue()`. */
  queued = 0;
  private readonly dequeued: (() => void)[] = [];

  queuedBytes(): number {
    return this.queued;
  }

  onDequeued(listener: () => void): void {
    this.dequeued.push(listener);
  }

  /** Its drain as measured: tests record acknowledged bytes; the backlog is `queued`. */
  readonly drained = new DrainRate();

  retryAfterSeconds(): number {
    return this.drained.retryAfterSeconds(this.queued);
  }

  /** As a Kafka request taking the queue: `queued` drops to 0 and listeners run. */
  dequeue(): void {
    this.queued = 0;
    for (const listener of this.dequeued) listener();
  }

  health(): Health {
    return { ok: this.healthy };
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/** An in-memory outbound log for unit tests (the real one is tested on disk). */
export class MemoryOutboundLog implements OutboundLogPort {
  readonly entries = new Map<number, OutboundRecord>();
  private seq = 0;
  syncs = 0;
  appends = 0;
  removes = 0;
  failWith: Error | null = null;
  /** While set, removes fail with it (a full disk under the deletes). */
  failRemovesWith: Error | null = null;
  failures = 0;
  maxEntries = Number.MAX_SAFE_INTEGER;

  append(records: OutboundRecord[]): Promise<void> {
    if (this.failWith) {
      this.failures += 1;
      return Promise.reject(this.failWith);
    }
    this.syncs += 1;
    this.appends += records.length;
    for (const r of records) {
      r.seq = ++this.seq;
      this.entries.set(r.seq, r);
    }
    return Promise.resolve();
  }

  remove(seqs: number[]): Promise<void> {
    if (this.failRemovesWith) {
      this.failures += 1;
      return Promise.reject(this.failRemovesWith);
    }
    for (const s of seqs) this.entries.delete(s);
    this.removes += seqs.length;
    return Promise.resolve();
  }

  pending(): OutboundRecord[] {
    return [...this.entries.values()].sort((a, b) => a.seq! - b.seq!);
  }

  stats(): OutboundLogStats {
    const bytes = [...this.entries.values()].reduce((n, e) => n + e.value.length, 0);
    return {
      entries: this.entries.size,
      bytes,
      appends: this.appends,
      syncs: this.syncs,
      removes: this.removes,
      failures: this.failures,
      failing: this.failWith?.message ?? null,
    };
  }

  isFull(): boolean {
    return this.entries.size >= this.maxEntries;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** One record a fake topic partition holds (its offset is its index). */
export interface FakeRecord {
  key: string | null;
  value: string | null;
}

/** One partition's offsets as `admin.fetchTopicOffsets` reports them. */
export interface FakeTopicOffsets {
  partition: number;
  low: string;
  high: string;
}

/** The admin client of a `FakeKafka`: the methods the services use, with what they did. */
export class FakeAdmin {
  connected = false;
  disconnected = false;
  readonly deletedGroups: string[] = [];

  constructor(private readonly kafka: FakeKafka) {}

  connect(): Promise<void> {
    this.connected = true;
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.disconnected = true;
    return Promise.resolve();
  }

  fetchTopicOffsets(topic: string): Promise<(FakeTopicOffsets & { offset: string })[]> {
    this.kafka.offsetFetches.push(topic);
    const failure = this.kafka.fetchOffsetsFailures.shift();
    if (failure) return Promise.reject(failure);
    return Promise.resolve(this.kafka.topicOffsets().map((o) => ({ ...o, offset: o.high })));
  }

  deleteGroups(groupIds: string[]): Promise<unknown[]> {
    this.deletedGroups.push(...groupIds);
    if (this.kafka.deleteGroupsError) return Promise.reject(this.kafka.deleteGroupsError);
    return Promise.resolve(groupIds.map((groupId) => ({ groupId, errorCode: 0 })));
  }
}

/** A consumer of a `FakeKafka`: records its calls; tests hand it messages or batches. */
export class FakeConsumer {
  readonly events = {
    GROUP_JOIN: 'consumer.group_join',
    END_BATCH_PROCESS: 'consumer.end_batch_process',
    CRASH: 'consumer.crash',
  } as const;
  connected = false;
  disconnected = false;
  readonly subscriptions: { topic: string; fromBeginning?: boolean }[] = [];
  readonly seeks: { topic: string; partition: number; offset: string }[] = [];
  runConfig: ConsumerRunConfig | null = null;
  private readonly listeners = new Map<string, ((e: { payload: unknown }) => void)[]>();

  constructor(readonly groupId: string) {}

  readonly paused = new Set<number>();

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    for (const t of topics) for (const p of t.partitions ?? []) this.paused.add(p);
  }

  on(event: string, listener: (e: { payload: unknown }) => void): () => void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () => undefined;
  }

  /** Emits an instrumentation event, e.g. `CRASH` with `{ error, restart }`. */
  emit(event: string, payload: unknown = {}): void {
    for (const listener of this.listeners.get(event) ?? []) listener({ payload });
  }

  connect(): Promise<void> {
    this.connected = true;
    return Promise.resolve();
  }

  subscribe(subscription: { topic: string; fromBeginning?: boolean }): Promise<void> {
    this.subscriptions.push(subscription);
    return Promise.resolve();
  }

  run(config: ConsumerRunConfig): Promise<void> {
    this.runConfig = config;
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.disconnected = true;
    return Promise.resolve();
  }

  seek(seek: { topic: string; partition: number; offset: string }): void {
    this.seeks.push(seek);
  }

  /** Hands one message to `eachMessage`, as the consumer loop would. */
  async message(partition: number, offset: number, record: FakeRecord): Promise<void> {
    const eachMessage = this.runConfig?.eachMessage;
    if (!eachMessage) throw new Error('the consumer runs no eachMessage');
    const topic = this.subscriptions[0]?.topic ?? '';
    await eachMessage({ topic, partition, message: kafkaMessage(offset, record) } as never);
  }

  /** Hands one batch to `eachBatch`: `records` at offsets `first`, `first + 1`, ... */
  async batch(partition: number, first: number, records: FakeRecord[]): Promise<void> {
    const eachBatch = this.runConfig?.eachBatch;
    if (!eachBatch) throw new Error('the consumer runs no eachBatch');
    const topic = this.subscriptions[0]?.topic ?? '';
    const messages = records.map((r, i) => kafkaMessage(first + i, r));
    const lastOffset = (): string => String(first + records.length - 1);
    await eachBatch({ batch: { topic, partition, messages, lastOffset } } as never);
  }
}

function kafkaMessage(offset: number, record: FakeRecord): KafkaMessage {
  return {
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value === null ? null : Buffer.from(record.value),
    offset: String(offset),
    timestamp: '0',
    attributes: 0,
    headers: {},
  };
}

/**
 * A kafkajs `Kafka` stand-in serving one topic from memory, with the admin and consumer
 * methods the services call. By default a consumer that runs `eachBatch` is served every
 * stored record, one batch per partition; with `autoServe` off, tests hand it batches.
 */
export class FakeKafka {
  /** The topic's records by partition (a record's offset is its index). */
  readonly data = new Map<number, FakeRecord[]>();
  /** What the admin reports; by default derived from `data` (low 0, high = length). */
  offsets: FakeTopicOffsets[] | null = null;
  autoServe = true;
  /** Failures the next offset fetches throw, one each. */
  readonly fetchOffsetsFailures: Error[] = [];
  deleteGroupsError: Error | null = null;
  readonly offsetFetches: string[] = [];
  /** What a served `eachBatch` threw. */
  readonly serveErrors: unknown[] = [];
  readonly admins: FakeAdmin[] = [];
  readonly consumers: FakeConsumer[] = [];
  private readonly runWaiters: ((consumer: FakeConsumer) => void)[] = [];

  /** The fake, typed as what the services take. */
  get kafka(): Kafka {
    return this as unknown as Kafka;
  }

  topicOffsets(): FakeTopicOffsets[] {
    return (
      this.offsets ??
      [...this.data].map(([partition, records]) => ({
        partition,
        low: '0',
        high: String(records.length),
      }))
    );
  }

  admin(): FakeAdmin {
    const admin = new FakeAdmin(this);
    this.admins.push(admin);
    return admin;
  }

  consumer(config: { groupId: string }): FakeConsumer {
    const consumer = new FakeConsumer(config.groupId);
    const run = consumer.run.bind(consumer);
    consumer.run = async (runConfig) => {
      await run(runConfig);
      for (const notify of this.runWaiters.splice(0)) notify(consumer);
      if (this.autoServe && runConfig.eachBatch)
        setImmediate(() => {
          this.serve(consumer).catch((err: unknown) => this.serveErrors.push(err));
        });
    };
    this.consumers.push(consumer);
    return consumer;
  }

  /** Resolves with the next consumer that starts running. */
  nextRun(): Promise<FakeConsumer> {
    return new Promise((resolve) => this.runWaiters.push(resolve));
  }

  private async serve(consumer: FakeConsumer): Promise<void> {
    for (const [partition, records] of this.data) {
      if (consumer.paused.has(partition)) continue;
      const sought = consumer.seeks.filter((x) => x.partition === partition).pop();
      const from = Number(sought?.offset ?? 0);
      if (records.length > from) await consumer.batch(partition, from, records.slice(from));
    }
  }
}

/**
 * A fetch body sent chunked (no Content-Length), in pieces of `size` bytes: spread into
 * fetch's init (`{ method, headers, ...chunkedBody(buf) }`).
 */
export function chunkedBody(
  data: Buffer,
  size = 256,
): { body: ReadableStream<Uint8Array>; duplex: 'half' } {
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) {
        controller.close();
        return;
      }
      controller.enqueue(new Uint8Array(data.subarray(offset, offset + size)));
      offset += size;
    },
  });
  return { body, duplex: 'half' };
}

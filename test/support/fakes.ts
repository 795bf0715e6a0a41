/**
 * Fakes for unit tests (never used by integration tests, which talk to a real broker).
 */
import pino from 'pino';
import type { Envelope } from '../../lib/envelope';
import type { Health } from '../../lib/lifecycle';
import type { Logger } from '../../lib/logger';
import type { SendBatchPort } from '../../lib/kafka/batching-producer';
import type {
  Ack,
  Admin,
  BatchContext,
  ConsumedRecord,
  Consumer,
  KafkaClient,
  ProduceRequest,
  RunOptions,
} from '../../lib/kafka/port';
import { DrainRate } from '../../lib/kafka/drain-rate';
import type { Sink, StoredEvent } from '../../services/edge/sink';
import type {
  OutboundLogPort,
  OutboundLogStats,
} from '../../services/worker/delivery/sbml/log-port';
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
    id: `id-${i}`,
    source: { partition: 0, offset: String(sourceOffset) },
    outcome: { kind: 'processed' },
    ...rest,
  };
}

/** A `sendBatch` that records each request and acknowledges it when told to. */
export class FakeBroker implements SendBatchPort {
  readonly requests: ProduceRequest[] = [];
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

  async sendBatch(batch: ProduceRequest): Promise<Ack[]> {
    this.requests.push(batch);
    if (!this.autoAck) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failWith) throw this.failWith;
    const result: Ack[] = [];
    for (const { topic, messages } of batch.topicMessages) {
      const perPartition = new Map<number, number>();
      for (const m of messages)
        perPartition.set(m.partition ?? 0, (perPartition.get(m.partition ?? 0) ?? 0) + 1);
      for (const [partition, count] of perPartition) {
        const key = `${topic}/${partition}`;
        const base = this.offsets.get(key) ?? 0;
        this.offsets.set(key, base + count);
        result.push({ topic, partition, baseOffset: String(base) });
      }
    }
    return result;
  }

  release(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  get recordCount(): number {
    return this.requests.reduce(
      (n, b) => n + b.topicMessages.reduce((m, t) => m + t.messages.length, 0),
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

/** Every port method a fake leaves out: a test that reaches one is told so. */
const notFaked = (what: string) => (): never => {
  throw new Error(`${what} is not faked`);
};

/** The admin client of a `FakeKafka`: the methods the services use, with what they did. */
export class FakeAdmin implements Admin {
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

  fetchTopicOffsets(topic: string): Promise<FakeTopicOffsets[]> {
    this.kafka.offsetFetches.push(topic);
    const failure = this.kafka.fetchOffsetsFailures.shift();
    if (failure) return Promise.reject(failure);
    return Promise.resolve(this.kafka.topicOffsets());
  }

  fetchOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]> {
    this.kafka.groupOffsetFetches.push({ groupId, topic });
    const failure = this.kafka.fetchOffsetsFailures.shift();
    if (failure) return Promise.reject(failure);
    return Promise.resolve(
      [...this.kafka.committed].map(([partition, offset]) => ({
        partition,
        offset: String(offset),
      })),
    );
  }

  deleteGroups(groupIds: string[]): Promise<void> {
    this.deletedGroups.push(...groupIds);
    if (this.kafka.deleteGroupsError) return Promise.reject(this.kafka.deleteGroupsError);
    return Promise.resolve();
  }

  listTopics: Admin['listTopics'] = notFaked('listTopics');
  createTopics = notFaked('createTopics');
  fetchTopicMetadata = notFaked('fetchTopicMetadata');
  fetchTopicOffsetsByTimestamp = notFaked('fetchTopicOffsetsByTimestamp');
  setOffsets = notFaked('setOffsets');
  listGroups = notFaked('listGroups');
  describeGroups = notFaked('describeGroups');
  deleteTopicRecords = notFaked('deleteTopicRecords');
  describeTopicConfigs = notFaked('describeTopicConfigs');
}

/** A consumer of a `FakeKafka`: records its calls; tests hand it batches and group events. */
export class FakeConsumer implements Consumer {
  connected = false;
  disconnected = false;
  readonly subscriptions: { topic: string; fromBeginning?: boolean }[] = [];
  readonly seeks: { topic: string; partition: number; offset: string }[] = [];
  readonly commits: { topic: string; partition: number; offset: string }[] = [];
  runConfig: RunOptions | null = null;
  /** What the next `commitOffsets` rejects with, once. */
  commitFailure: Error | null = null;
  private readonly joins: ((assignment: Record<string, number[]>) => void)[] = [];
  private readonly crashes: ((error: Error, restarting: boolean) => void)[] = [];
  private readonly batchEnds: ((end: {
    topic: string;
    partition: number;
    lastOffset: string;
  }) => void)[] = [];

  constructor(readonly groupId: string) {}

  readonly paused = new Set<number>();

  pause(_topic: string, partitions: number[]): void {
    for (const p of partitions) this.paused.add(p);
  }

  resume(_topic: string, partitions: number[]): void {
    for (const p of partitions) this.paused.delete(p);
  }

  onGroupJoin(listener: (assignment: Record<string, number[]>) => void): void {
    this.joins.push(listener);
  }

  onCrash(listener: (error: Error, restarting: boolean) => void): void {
    this.crashes.push(listener);
  }

  onBatchEnd(
    listener: (end: { topic: string; partition: number; lastOffset: string }) => void,
  ): void {
    this.batchEnds.push(listener);
  }

  /** As a join of the group with this assignment. */
  join(assignment: Record<string, number[]> = {}): void {
    for (const listener of this.joins) listener(assignment);
  }

  /** As a crash of the consumer. */
  crash(error: Error, restarting = false): void {
    for (const listener of this.crashes) listener(error, restarting);
  }

  connect(): Promise<void> {
    this.connected = true;
    return Promise.resolve();
  }

  subscribe(topic: string, options: { fromBeginning?: boolean } = {}): Promise<void> {
    this.subscriptions.push({ topic, ...options });
    return Promise.resolve();
  }

  run(config: RunOptions): Promise<void> {
    this.runConfig = config;
    return Promise.resolve();
  }

  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void> {
    const failure = this.commitFailure;
    this.commitFailure = null;
    if (failure) return Promise.reject(failure);
    this.commits.push(...offsets);
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.disconnected = true;
    return Promise.resolve();
  }

  seek(topic: string, partition: number, offset: string): void {
    this.seeks.push({ topic, partition, offset });
  }

  /** Hands one record to `eachBatch` as a batch of its own. */
  async message(partition: number, offset: number, record: FakeRecord): Promise<void> {
    await this.batch(partition, offset, [record]);
  }

  /**
   * Hands one batch to `eachBatch`: `records` at offsets `first`, `first + 1`, ...;
   * `context` overrides parts of the batch context (heartbeat, staleness).
   */
  async batch(
    partition: number,
    first: number,
    records: FakeRecord[],
    context: Partial<Omit<BatchContext, 'batch'>> = {},
  ): Promise<void> {
    const eachBatch = this.runConfig?.eachBatch;
    if (!eachBatch) throw new Error('the consumer runs no eachBatch');
    const topic = this.subscriptions[0]?.topic ?? '';
    const messages = records.map((r, i) => consumedRecord(first + i, r));
    const lastOffset = String(first + records.length - 1);
    await eachBatch({
      batch: {
        topic,
        partition,
        highWatermark: String(first + records.length),
        messages,
        lastOffset: () => lastOffset,
      },
      heartbeat: () => Promise.resolve(),
      isRunning: () => true,
      isStale: () => false,
      resolveOffset: () => undefined,
      ...context,
    });
    for (const listener of this.batchEnds) listener({ topic, partition, lastOffset });
  }
}

function consumedRecord(offset: number, record: FakeRecord): ConsumedRecord {
  return {
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value === null ? null : Buffer.from(record.value),
    offset: String(offset),
    timestamp: '0',
    headers: {},
  };
}

/**
 * A Kafka client of the port serving one topic from memory, with the admin and consumer
 * methods the services call. By default a consumer that runs is served every stored
 * record, one batch per partition; with `autoServe` off, tests hand it batches.
 */
export class FakeKafka implements KafkaClient {
  readonly name = 'kafkajs' as const;
  /** The topic's records by partition (a record's offset is its index). */
  readonly data = new Map<number, FakeRecord[]>();
  /** What the admin reports; by default derived from `data` (low 0, high = length). */
  offsets: FakeTopicOffsets[] | null = null;
  /** The group's committed offsets by partition (`admin.fetchOffsets`). */
  readonly committed = new Map<number, bigint>();
  autoServe = true;
  /** Failures the next offset fetches throw, one each. */
  readonly fetchOffsetsFailures: Error[] = [];
  deleteGroupsError: Error | null = null;
  readonly offsetFetches: string[] = [];
  readonly groupOffsetFetches: { groupId: string; topic: string }[] = [];
  /** What a served `eachBatch` threw. */
  readonly serveErrors: unknown[] = [];
  readonly admins: FakeAdmin[] = [];
  readonly consumers: FakeConsumer[] = [];
  private readonly runWaiters: ((consumer: FakeConsumer) => void)[] = [];

  /** The fake, typed as what the services take. */
  get kafka(): KafkaClient {
    return this;
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

  producer: KafkaClient['producer'] = notFaked('producer');
  transactionalProducer = notFaked('transactionalProducer');

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
      if (this.autoServe)
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

/**
 * The edge writes events through the `Sink` port: `store()` resolves only once every
 * event is durable. `KafkaSink` appends to `intake.raw` (acks=all) through one batching
 * producer with one lane per given producer (the port's, from either client,
 * `INTAKE_KAFKA_CLIENT`) (`INTAKE_PRODUCER_LANES`, default 1;
 * partition modulo the lanes picks one, so one key's events stay in order; more lanes pay
 * off only with a distant broker, see docs/performance.md); unit tests use an in-memory
 * sink.
 */
import type { Envelope } from '../../lib/envelope';
import { toKafkaMessage } from '../../lib/envelope';
import type { MetaMemo } from '../../lib/envelope';
import { BatchingProducer } from '../../lib/kafka/batching-producer';
import type {
  BatchingProducerOptions,
  PartitionedRecord,
  RecordPosition,
} from '../../lib/kafka/batching-producer';
import { TopicPartitions } from '../../lib/kafka/partitioner';
import type { Admin, Producer } from '../../lib/kafka/port';
import type { Health } from '../../lib/lifecycle';
import type { Logger } from '../../lib/logger';
import { startupRetry, withRetry } from '../../lib/retry';

export interface StoredEvent {
  id: string;
  partition: number;
  offset: string;
}

export interface Sink {
  /** Resolves only after every envelope is durable (for Kafka: acknowledged by all in-sync replicas). */
  store(envelopes: Envelope[]): Promise<StoredEvent[]>;
  isHealthy(): boolean;
  /**
   * False while `bytes` more would pass the in-flight bound: streams stop reading their
   * socket (TCP backpressure) instead of being refused.
   */
  hasRoom(bytes: number): boolean;
  /** Bytes accepted by `store()` and not yet in a Kafka request (the read window's gauge). */
  queuedBytes(): number;
  /** Calls `listener` each time queued bytes left the queue (the read window's pump). */
  onDequeued(listener: () => void): void;
  /**
   * The `Retry-After` of an overload answer: seconds until the bytes waiting for Kafka
   * should have drained at the measured ack rate (lib/kafka/drain-rate.ts).
   */
  retryAfterSeconds(): number;
  health(): Health;
  start(): Promise<void>;
  /** Takes no new events, and waits until those accepted were stored or failed. */
  stop(): Promise<void>;
}

function stored(ids: string[], positions: RecordPosition[]): StoredEvent[] {
  const events = new Array<StoredEvent>(positions.length);
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]!;
    events[i] = { id: ids[i]!, partition: p.partition, offset: p.offset };
  }
  return events;
}

export interface KafkaSinkDeps {
  /** One per lane (either Kafka client, lib/kafka/client.ts); each keeps one request in flight. */
  producers: readonly Producer[];
  admin: Admin;
  topic: string;
  logger: Logger;
  options: BatchingProducerOptions;
  onBatch?: (records: number, bytes: number, ok: boolean, seconds: number) => void;
  /** How often Kafka's reachability is probed for readiness (default 2000 ms). */
  probeIntervalMs?: number;
}

export class KafkaSink implements Sink {
  private readonly partitions = new TopicPartitions();
  private readonly batcher: BatchingProducer;
  private connected = false;
  private lastError: string | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing: Promise<void> | null = null;
  private readonly dequeued: (() => void)[] = [];

  constructor(private readonly deps: KafkaSinkDeps) {
    this.batcher = new BatchingProducer({
      producer: deps.producers,
      logger: deps.logger,
      options: deps.options,
      onBatch: (records, bytes, ok, seconds) => {
        this.lastError = ok ? null : 'the last produce request failed';
        deps.onBatch?.(records, bytes, ok, seconds);
      },
      onDequeue: () => {
        for (const listener of this.dequeued) listener();
      },
    });
  }

  async start(): Promise<void> {
    await this.deps.admin.connect();
    await withRetry(
      () => this.partitions.refresh(this.deps.admin, [this.deps.topic]),
      startupRetry,
    );
    await Promise.all(this.deps.producers.map((p) => p.connect()));
    this.connected = true;
    this.probeTimer = setInterval(() => {
      this.probing ??= this.probe().finally(() => {
        this.probing = null;
      });
    }, this.deps.probeIntervalMs ?? 2000);
  }

  /**
   * Asks the cluster for its metadata (no retries): readiness follows Kafka's reachability
   * even when no traffic flows, and recovers by itself when Kafka is back.
   */
  private async probe(): Promise<void> {
    try {
      await this.deps.admin.fetchTopicMetadata([this.deps.topic]);
      this.connected = true;
      this.lastError = null;
    } catch (err) {
      this.lastError = `Kafka unreachable: ${(err as Error).message}`;
    }
  }

  /**
   * Each envelope is serialised once (the Kafka message of `toKafkaMessage`: key, JSON
   * value, id/source/trace headers), and that text is what the client encodes into the
   * request and what the in-flight bound counts; from here on the edge holds only it and
   * the ids, not the parsed events.
   */
  store(envelopes: Envelope[]): Promise<StoredEvent[]> {
    const topic = this.deps.topic;
    const ids = new Array<string>(envelopes.length);
    const records = new Array<PartitionedRecord>(envelopes.length);
    try {
      const memo: MetaMemo = {};
      for (let i = 0; i < envelopes.length; i++) {
        const e = envelopes[i]!;
        const message = toKafkaMessage(e, undefined, memo);
        ids[i] = e.id;
        records[i] = {
          key: e.key,
          value: message.value as string,
          headers: message.headers,
          partition: this.partitions.partition(topic, e.key),
        };
      }
    } catch (err) {
      // a rejection, never a throw, as from an async store
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // NOTE: from here on only the records and ids are held, not the envelopes.
    return this.batcher.send(topic, records).then((positions) => stored(ids, positions));
  }

  hasRoom(bytes: number): boolean {
    return this.batcher.inFlightBytes + bytes <= this.deps.options.maxInFlightBytes;
  }

  get inFlightBytes(): number {
    return this.batcher.inFlightBytes;
  }

  queuedBytes(): number {
    return this.batcher.queuedBytes;
  }

  onDequeued(listener: () => void): void {
    this.dequeued.push(listener);
  }

  retryAfterSeconds(): number {
    return this.batcher.retryAfterSeconds();
  }

  isHealthy(): boolean {
    return this.connected && this.lastError === null;
  }

  health(): Health {
    return {
      ok: this.isHealthy(),
      details: { connected: this.connected, lastError: this.lastError, ...this.batcher.stats() },
    };
  }

  async stop(): Promise<void> {
    if (this.probeTimer) clearInterval(this.probeTimer);
    await this.probing; // NOTE: a probe in flight must end before the admin disconnects
    await this.batcher.close();
    await Promise.all(this.deps.producers.map((p) => p.disconnect()));
    await this.deps.admin.disconnect();
  }
}

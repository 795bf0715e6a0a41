/**
 * One shared Kafka consumer per edge per topic, fanning records out to every local
 * subscriber (SSE or WebSocket): a thousand dashboards cost the broker one consumer.
 *
 * - The consumer uses a group of its own (never committed) and starts at the topic's end
 *   when the first subscriber asks for the topic; it keeps following the topic until the
 *   edge stops.
 * - Positions: a subscriber's position is the next offset of every partition (a vector,
 *   sent as the SSE event id `0:12,1:40,...`). The last `ringSize` records stay in memory,
 *   so a subscriber that reconnects with `Last-Event-ID` gets what it missed from memory;
 *   a position older than the ring is caught up from Kafka first (`catch-up.ts`), which
 *   then joins here through `covers()` and `subscribe()`.
 * - Delivery to a subscriber is synchronous and never waits: a subscriber that cannot keep
 *   up is its own transport's business (bounded buffer, then disconnect), never the
 *   consumer's, so one slow reader cannot stall the others.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, KafkaClient } from '../../../lib/kafka/port';
import type { Logger } from '../../../lib/logger';
import { withRetry } from '../../../lib/retry';

export interface FanoutRecord {
  partition: number;
  offset: bigint;
  key: string | null;
  /** The record's `type` field, when its value is a JSON object with one. */
  type: string | null;
  value: string;
}

export type Position = Map<number, bigint>;

export interface Subscriber {
  deliver(record: FanoutRecord): void;
  end(reason: 'shutting-down'): void;
}

export interface FanoutDeps {
  kafka: KafkaClient;
  topic: string;
  logger: Logger;
  ringSize: number;
}

/** The most one fetch of the shared consumer brings (a subscriber's buffer must hold it). */
export const FETCH_MAX_BYTES = 1024 * 1024;

export class TopicFanout {
  private consumer: Consumer | null = null;
  private readonly ring: FanoutRecord[] = [];
  /** Per partition: the first offset still in the ring's reach (older ones were evicted). */
  private readonly oldest: Position = new Map();
  private readonly next: Position = new Map();
  private readonly subscribers = new Set<Subscriber>();
  private started: Promise<void> | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: FanoutDeps) {
    this.log = deps.logger.child({ module: 'fanout', topic: deps.topic });
  }

  get size(): number {
    return this.subscribers.size;
  }

  get topic(): string {
    return this.deps.topic;
  }

  /** Starts the shared consumer once; resolves when it reads from the topic's end. */
  ready(): Promise<void> {
    this.started ??= this.start().catch((err: unknown) => {
      this.started = null;
      throw err;
    });
    return this.started;
  }

  private async start(): Promise<void> {
    const { kafka, topic } = this.deps;
    const admin: Admin = kafka.admin();
    await admin.connect();
    try {
      for (const p of await withRetry(() => admin.fetchTopicOffsets(topic))) {
        this.next.set(p.partition, BigInt(p.high));
        this.oldest.set(p.partition, BigInt(p.high));
      }
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({
      groupId: `intake-fanout-${randomUUID()}`,
      // NOTE: a fetch is delivered to every subscriber at once; its size bounds the burst.
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: FETCH_MAX_BYTES / 2,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe(topic, { fromBeginning: false });
    const joined = new Promise<void>((resolve) => consumer.onGroupJoin(() => resolve()));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) this.publish(batch.partition, m.offset, m.key, m.value);
        // Lets the sockets flush and the readers read before the next batch is written, so a
        // reader is measured against its buffer limit after a turn, not within one burst.
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    await joined;
    // NOTE: seek only once the group exists; records fetched before it are skipped by publish().
    for (const [partition, offset] of this.next) {
      consumer.seek(topic, partition, offset.toString());
    }
    this.log.info({ partitions: this.next.size }, 'fanout_started');
  }

  private publish(
    partition: number,
    offset: string,
    key: Buffer | null,
    value: Buffer | null,
  ): void {
    const at = BigInt(offset);
    if (at < (this.next.get(partition) ?? 0n)) return; // a re-fetch after a rebalance
    this.next.set(partition, at + 1n);
    const record = fanoutRecord(partition, at, key, value);
    this.ring.push(record);
    if (this.ring.length > this.deps.ringSize) {
      const evicted = this.ring.shift()!;
      this.oldest.set(evicted.partition, evicted.offset + 1n);
    }
    for (const s of this.subscribers) s.deliver(record);
  }

  /** The position a new subscriber starts from ("now"). */
  position(): Position {
    return new Map(this.next);
  }

  /** False when `from` is older than the ring reaches (the records between are not in memory). */
  covers(from: ReadonlyMap<number, bigint>): boolean {
    for (const [partition, offset] of from) {
      if (offset < (this.oldest.get(partition) ?? 0n)) return false;
    }
    return true;
  }

  /** The bytes of the ring's records at or after `from`: what `subscribe(s, from)` replays. */
  backlogBytes(from: ReadonlyMap<number, bigint>): number {
    let bytes = 0;
    for (const r of this.ring) {
      if (r.offset >= (from.get(r.partition) ?? 0n)) bytes += r.value.length;
    }
    return bytes;
  }

  /**
   * Adds a subscriber from `from` (replaying what the ring holds since then), or from now.
   * Returns false when `from` is older than the ring reaches (a gap).
   */
  subscribe(subscriber: Subscriber, from?: ReadonlyMap<number, bigint>): boolean {
    if (from) {
      if (!this.covers(from)) return false;
      for (const r of this.ring) {
        if (r.offset >= (from.get(r.partition) ?? 0n)) subscriber.deliver(r);
      }
    }
    this.subscribers.add(subscriber);
    return true;
  }

  unsubscribe(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
  }

  async stop(): Promise<void> {
    for (const s of this.subscribers) s.end('shutting-down');
    this.subscribers.clear();
    await this.consumer?.disconnect();
  }
}

/** A Kafka record as subscribers get it: text, with its key and its `type` field. */
export function fanoutRecord(
  partition: number,
  offset: bigint,
  key: Buffer | null,
  value: Buffer | null,
): FanoutRecord {
  const text = value?.toString('utf8') ?? 'null';
  return { partition, offset, key: key?.toString() ?? null, type: typeOf(text), value: text };
}

/** Reads `"type"` from a JSON object's text without keeping the parsed value. */
function typeOf(text: string): string | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && 'type' in value) {
      const t = value.type;
      return typeof t === 'string' ? t : null;
    }
  } catch {
    // not JSON: no type
  }
  return null;
}

/** `0:12,1:40` <-> a position; null when the text is not one. */
export function parsePosition(text: string): Position | null {
  const position: Position = new Map();
  for (const part of text.split(',')) {
    const m = /^(\d{1,5}):(\d{1,19})$/.exec(part.trim());
    if (!m) return null;
    position.set(Number(m[1]), BigInt(m[2]!));
  }
  return position.size > 0 ? position : null;
}

export function formatPosition(position: Position): string {
  return [...position].map(([p, o]) => `${p}:${o}`).join(',');
}

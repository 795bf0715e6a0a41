/**
 * Fakes for unit tests (never used by integration tests, which talk to a real broker).
 */
import pino from 'pino';
import type { ProducerBatch, RecordMetadata } from 'kafkajs';
import type { Envelope } from '../../lib/envelope';
import type { Health } from '../../lib/lifecycle';
import type { Logger } from '../../lib/logger';
import type { SendBatchPort } from '../../lib/kafka/batching-producer';
import type { Sink, StoredEvent } from '../../services/edge/sink';
import type {
  NewEntry,
  OutboundEntry,
  OutboundLogPort,
  OutboundLogStats,
} from '../../services/worker/outbound/log-port';

export const silentLogger = (): Logger => pino({ level: 'silent' });

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
  readonly entries = new Map<bigint, OutboundEntry>();
  private seq = 0n;
  syncs = 0;
  appends = 0;
  removes = 0;
  failWith: Error | null = null;
  /** While set, removes fail with it (a full disk under the deletes). */
  failRemovesWith: Error | null = null;
  failures = 0;
  maxEntries = Number.MAX_SAFE_INTEGER;

  append(entries: NewEntry[]): Promise<OutboundEntry[]> {
    if (this.failWith) {
      this.failures += 1;
      return Promise.reject(this.failWith);
    }
    this.syncs += 1;
    this.appends += entries.length;
    const logged = entries.map((e) => ({ ...e, seq: ++this.seq }));
    for (const e of logged) this.entries.set(e.seq, e);
    return Promise.resolve(logged);
  }

  remove(seqs: bigint[]): Promise<void> {
    if (this.failRemovesWith) {
      this.failures += 1;
      return Promise.reject(this.failRemovesWith);
    }
    for (const s of seqs) this.entries.delete(s);
    this.removes += seqs.length;
    return Promise.resolve();
  }

  pending(): OutboundEntry[] {
    return [...this.entries.values()].sort((a, b) => (a.seq < b.seq ? -1 : 1));
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

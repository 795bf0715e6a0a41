/**
 * How the worker hands a processed chunk downstream, and when its input may be committed.
 *
 * - `LoggedDelivery` (SBML, the default): append every outbound record to the durable
 *   outbound log (one sync per chunk: group commit) -> the input may be committed at once
 *   -> the sender delivers from the log in the background and deletes on acknowledgement.
 *   Consumption runs ahead of downstream latency, bounded by the log's size.
 * - `DirectDelivery` (SBML off, for comparison): send and wait for the downstream
 *   acknowledgement before the input may be committed. Nothing is stored locally; a crash
 *   re-reads and re-processes the uncommitted input instead of resending.
 *
 * Both resolve `prepare()` only when committing the input can no longer lose its output.
 */
import type { BatchingProducer } from '../../../lib/kafka/batching-producer';
import { IntakeError } from '../../../lib/errors';
import type { OutboundRecord } from '../consumer/outbound';
import type { NewEntry, OutboundEntry, OutboundLogPort } from './log-port';
import type { DeliveredRecord } from './replier';
import type { OutboundSender } from './sender';

export interface Delivery {
  /** Resolves when the input of these records may be committed; call the result after committing. */
  prepare(
    sourceTopic: string,
    sourcePartition: number,
    records: OutboundRecord[],
  ): Promise<() => void>;
  /** Whether outbound records are still waiting for acknowledgement after `prepare()`. */
  readonly deferred: boolean;
  /** True while new input should wait (log full, downstream failing). */
  mustPause(): boolean;
  /** Why the worker is paused or failing, for health. */
  problem(): string | null;
}

export class LoggedDelivery implements Delivery {
  readonly deferred = true;
  private storeError: string | null = null;

  constructor(
    private readonly deps: {
      log: OutboundLogPort;
      sender: OutboundSender;
      /** Called with the duration of each durable append (for metrics). */
      onAppend?: (seconds: number) => void;
      /** Fault-injection point between the log sync and the commit (tests only). */
      afterAppend?: () => void;
    },
  ) {}

  async prepare(
    sourceTopic: string,
    sourcePartition: number,
    records: OutboundRecord[],
  ): Promise<() => void> {
    if (records.length === 0) return () => undefined;
    const entries: NewEntry[] = records.map((o) => ({
      topic: o.topic,
      partition: o.record.partition,
      key: o.record.key,
      value: Buffer.isBuffer(o.record.value) ? o.record.value : Buffer.from(o.record.value),
      headers: stringHeaders(o.record.headers),
      source: { topic: sourceTopic, partition: sourcePartition, offset: o.sourceOffset },
    }));
    let logged: OutboundEntry[];
    const started = process.hrtime.bigint();
    try {
      logged = await this.deps.log.append(entries);
      this.deps.onAppend?.(Number(process.hrtime.bigint() - started) / 1e9);
      this.storeError = null;
      this.deps.afterAppend?.();
    } catch (err) {
      this.storeError = err instanceof Error ? err.message : String(err);
      throw err instanceof IntakeError
        ? err
        : new IntakeError('STORE_FAILED', `outbound log append failed: ${this.storeError}`, {
            cause: err,
          });
    }
    return () => this.deps.sender.dispatch(logged);
  }

  /** A failing store does not pause: the consumer retries the append itself, with backoff. */
  mustPause(): boolean {
    return this.deps.log.isFull() || !this.deps.sender.healthy;
  }

  problem(): string | null {
    const storeError = this.storeError ?? this.deps.log.stats().failing;
    if (storeError) return `outbound log failing: ${storeError}`;
    if (!this.deps.sender.healthy)
      return `downstream failing: ${this.deps.sender.lastError ?? 'unknown'}`;
    if (this.deps.log.isFull()) return 'outbound log full: waiting for downstream acknowledgements';
    return null;
  }
}

export class DirectDelivery implements Delivery {
  readonly deferred = false;
  private failing: string | null = null;

  constructor(
    private readonly deps: {
      producer: BatchingProducer;
      /** Called with each acknowledged record and its downstream offset. */
      onDelivered?: (records: DeliveredRecord[]) => void;
    },
  ) {}

  async prepare(
    _sourceTopic: string,
    _sourcePartition: number,
    records: OutboundRecord[],
  ): Promise<() => void> {
    const byTopic = new Map<string, OutboundRecord['record'][]>();
    for (const o of records) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o.record]);
    try {
      const sent = await Promise.all(
        [...byTopic].map(async ([topic, recs]) => {
          const positions = await this.deps.producer.send(topic, recs);
          return recs.map((r, i) => ({
            ...positions[i]!,
            headers: stringHeaders(r.headers),
            value: r.value,
          }));
        }),
      );
      this.deps.onDelivered?.(sent.flat());
      this.failing = null;
    } catch (err) {
      this.failing = err instanceof Error ? err.message : String(err);
      throw err;
    }
    return () => undefined;
  }

  mustPause(): boolean {
    return false;
  }

  problem(): string | null {
    return this.failing;
  }
}

function stringHeaders(headers: OutboundRecord['record']['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
  }
  return out;
}

/**
 * A local, read-only view of a compacted topic: the latest value of every key, kept up
 * to date by a consumer that reads the topic from the beginning and follows it (the
 * "global table" pattern). Every edge holds the same view, derived from Kafka, so any
 * edge answers for any key (a visitor's score, a partition's delivery progress) without
 * per-request state of its own.
 *
 * Storage: in memory for small topics (one key per partition), or in an LMDB file for
 * large ones (a key per visitor), so memory stays bounded whatever the key count.
 * The view reads with a throwaway consumer group and never commits; `ready()` resolves
 * once it caught up with the topic's end as it was at start, `current()` once it caught up
 * with the end as it is when called (a reader that needs what was committed before it asked).
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { open } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import { IntakeError } from '../errors';
import type { Logger } from '../logger';
import { startupRetry, withRetry } from '../retry';
import type { Admin, Consumer, KafkaClient, PartitionOffsets } from './port';

export interface ViewStore<T> {
  get(key: string): T | undefined;
  put(key: string, value: T): void;
  delete(key: string): void;
  readonly size: number;
  close(): Promise<void>;
}

export function memoryStore<T>(): ViewStore<T> {
  const map = new Map<string, T>();
  return {
    get: (key) => map.get(key),
    put: (key, value) => void map.set(key, value),
    delete: (key) => void map.delete(key),
    get size() {
      return map.size;
    },
    close: () => Promise.resolve(),
  };
}

/** An LMDB-backed store; a view is rebuilt from Kafka at each start, so writes need no sync. */
export function lmdbStore<T>(dir: string): ViewStore<T> {
  rmSync(dir, { recursive: true, force: true });
  const db: RootDatabase<T, string> = open<T, string>({
    path: dir,
    noSync: true,
    compression: false,
  });
  let size = 0;
  return {
    get: (key) => db.get(key),
    put: (key, value) => {
      if (db.get(key) === undefined) size += 1;
      void db.put(key, value);
    },
    delete: (key) => {
      if (db.get(key) !== undefined) size -= 1;
      void db.remove(key);
    },
    get size() {
      return size;
    },
    close: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export class TopicView<T> {
  private consumer: Consumer | null = null;
  private caughtUp = false;
  private readyPromise: Promise<void> = Promise.resolve();
  private lastError: string | null = null;
  private readonly groupId = `intake-view-${randomUUID()}`;
  private readonly log: Logger;
  /** Per partition, the offset the view has read up to (exclusive), markers included. */
  private readonly positions = new Map<number, bigint>();
  private readonly waiters = new Set<() => void>();
  /** `current()`'s admin connection, opened at its first call. */
  private admin: Promise<Admin> | null = null;

  constructor(
    private readonly deps: {
      kafka: KafkaClient;
      topic: string;
      store: ViewStore<T>;
      logger: Logger;
      /** Parses a record value; null deletes the key; a throw skips the record (logged). */
      parse: (value: Buffer) => T | null;
    },
  ) {
    this.log = deps.logger.child({ module: 'topic-view', topic: deps.topic });
  }

  async start(): Promise<void> {
    const { kafka, topic, store, parse } = this.deps;
    const admin = kafka.admin();
    await admin.connect();
    const ends = new Map<number, bigint>();
    try {
      for (const p of await withRetry(() => admin.fetchTopicOffsets(topic), startupRetry)) {
        if (BigInt(p.high) > BigInt(p.low)) ends.set(p.partition, BigInt(p.high));
      }
    } finally {
      await admin.disconnect();
    }
    let markReady: () => void = () => undefined;
    this.readyPromise = new Promise((resolve) => (markReady = resolve));
    const check = (): void => {
      if (!this.caughtUp && ends.size === 0) {
        this.caughtUp = true;
        this.log.info({ keys: store.size }, 'view_caught_up');
        markReady();
      }
    };
    check();
    // NOTE: a transactional topic ends with a commit marker that no message shows; the
    // batch's last offset counts it, and a batch of markers only reaches `onBatchEnd`.
    const reached = (partition: number, lastOffset: string): void => {
      const next = BigInt(lastOffset) + 1n;
      if (next > (this.positions.get(partition) ?? 0n)) this.positions.set(partition, next);
      for (const wake of this.waiters) wake();
      const end = ends.get(partition);
      if (end !== undefined && next >= end) ends.delete(partition);
      check();
    };
    const consumer = kafka.consumer({ groupId: this.groupId });
    this.consumer = consumer;
    consumer.onBatchEnd((e) => reached(e.partition, e.lastOffset));
    consumer.onCrash((error) => {
      this.lastError = String(error);
    });
    await consumer.connect();
    await consumer.subscribe(topic, { fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (!m.key) continue;
          const key = m.key.toString();
          let value: T | null;
          try {
            value = m.value ? parse(m.value) : null;
          } catch (err) {
            // One unreadable record must not stop the view: skip it, keep the key's last value.
            this.log.warn(
              { err, key, partition: batch.partition, offset: m.offset },
              'view_record_unreadable',
            );
            continue;
          }
          if (value === null) store.delete(key);
          else store.put(key, value);
        }
        reached(batch.partition, batch.lastOffset());
        this.lastError = null;
        await Promise.resolve();
      },
    });
  }

  /** Resolves once the view caught up with the topic's end at start. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /**
   * Resolves once the view has read every partition (or only `partitions`: those of the
   * keys the caller reads) up to the end it has now (records committed before the call are
   * in the view); rejects `KAFKA_UNAVAILABLE` (retriable) after `timeoutMs`.
   */
  async current(timeoutMs: number, partitions?: readonly number[]): Promise<void> {
    let ends = await this.ends();
    if (partitions) ends = ends.filter((e) => partitions.includes(e.partition));
    const behind = (): boolean =>
      ends.some(
        (e) =>
          BigInt(e.high) > BigInt(e.low) &&
          (this.positions.get(e.partition) ?? 0n) < BigInt(e.high),
      );
    if (!behind()) return;
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        if (behind()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new IntakeError(
            'KAFKA_UNAVAILABLE',
            `the view of ${this.deps.topic} did not catch up with its end within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
    });
  }

  /** The topic's ends now, on one admin connection kept for every call (a failed one is dropped). */
  private async ends(): Promise<PartitionOffsets[]> {
    const admin = (this.admin ??= this.connectAdmin());
    try {
      return await (await admin).fetchTopicOffsets(this.deps.topic);
    } catch (err) {
      if (this.admin === admin) this.admin = null;
      void admin.then((a) => a.disconnect()).catch(() => undefined);
      throw err;
    }
  }

  private async connectAdmin(): Promise<Admin> {
    const admin = this.deps.kafka.admin();
    await admin.connect();
    return admin;
  }

  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  get(key: string): T | undefined {
    return this.deps.store.get(key);
  }

  health(): { ok: boolean; keys: number; caughtUp: boolean; lastError: string | null } {
    return {
      ok: this.caughtUp && this.lastError === null,
      keys: this.deps.store.size,
      caughtUp: this.caughtUp,
      lastError: this.lastError,
    };
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.deps.store.close();
    const kept = this.admin;
    this.admin = null;
    const admin = (await kept?.catch(() => null)) ?? (await this.connectAdmin());
    await admin.deleteGroups([this.groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

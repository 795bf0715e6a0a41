/**
 * Intake's Kafka port: the records, acknowledgements, producers, transactions, consumers
 * and admin calls every service uses, in Intake's own types. Two adapters implement it
 * completely (`kafkajs/`, `platformatic/`); `client.ts` builds one from configuration
 * (`INTAKE_KAFKA_CLIENT`). Nothing outside the adapters sees a client library's types or
 * errors: every failure is an `IntakeError` (lib/errors.ts) with its code and `retriable`.
 *
 * Contracts every adapter keeps:
 * - producers are idempotent and send with acks=all (cannot be turned off), one request in
 *   flight, records of one partition appended in the order sent;
 * - a send resolves only once Kafka acknowledged every partition it wrote to (an answer
 *   that leaves one out is a failure: acknowledged.ts);
 * - consumers read committed data only (`read_committed`) and never commit on their own
 *   unless `autoCommit` is asked for.
 */

import type { Logger } from '../logger';

export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

/** Header values as written; a consumed record's values are Buffers. */
export type RecordHeaders = Record<string, string | Buffer | undefined>;

/** A record to produce; `partition` is chosen by Intake (partitioner.ts) where it matters. */
export interface OutRecord {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: RecordHeaders;
  partition?: number;
  /** Milliseconds since the epoch, as a decimal string (default: the send time). */
  timestamp?: string;
}

export interface TopicRecords {
  topic: string;
  messages: OutRecord[];
}

/** One produce request (acks=all always). */
export interface ProduceRequest {
  topicMessages: TopicRecords[];
  /** How long the broker may take to replicate the records (ms). */
  timeoutMs?: number;
}

/** Kafka's answer for one partition of a produce request: its first record's offset. */
export interface Ack {
  topic: string;
  partition: number;
  baseOffset: string;
}

/** A consumed record. */
export interface ConsumedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | undefined>;
  /** Milliseconds since the epoch, as a decimal string. */
  timestamp: string;
}

/** An idempotent producer (acks=all). */
export interface Producer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Resolves only after Kafka acknowledged every record (acks=all), one `Ack` per partition. */
  sendBatch(request: ProduceRequest): Promise<Ack[]>;
  /**
   * After a failed request: starts over with a new producer id, so nothing sent later can
   * be taken by the broker for a duplicate of what the failed request may have written.
   */
  reset(): Promise<void>;
}

/** One open transaction of a `TransactionalProducer`. */
export interface Transaction {
  sendBatch(request: ProduceRequest): Promise<Ack[]>;
  /** Commits `offset` (the next to read) of the group's input partition with the transaction. */
  sendOffsets(offsets: {
    groupId: string;
    topic: string;
    partition: number;
    offset: string;
  }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TransactionalProducer {
  /**
   * Connects and registers the transactional id: from then on every earlier producer with
   * the same id is fenced (its later writes fail with `KAFKA_FENCED`), and its open
   * transaction is completed or aborted by the broker.
   */
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Opens a transaction (one at a time per producer). */
  begin(): Promise<Transaction>;
}

/** One fetched batch of one partition. */
export interface FetchedBatch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: ConsumedRecord[];
  /** The offset of the batch's last record (or the one before its first, when empty). */
  lastOffset(): string;
}

/** What `eachBatch` may call while it processes a batch. */
export interface BatchContext {
  batch: FetchedBatch;
  /** Tells the coordinator this member is alive; rejects when the group moved on. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True once the batch's partition was revoked (a rebalance): process nothing more of it. */
  isStale(): boolean;
  /** Marks the batch processed up to `offset` (inclusive), for the next fetch's position. */
  resolveOffset(offset: string): void;
}

export interface ConsumerOptions {
  groupId: string;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  maxBytesPerPartition?: number;
  maxBytes?: number;
  /** Restart after a crash the client takes as final (default true). */
  restartOnFailure?: boolean;
}

export interface RunOptions {
  /** Commit processed offsets on its own (default false: the caller commits). */
  autoCommit?: boolean;
  /**
   * The batch's position advances only by `resolveOffset` (default false: to its end when
   * `eachBatch` resolves).
   */
  manualResolve?: boolean;
  /** Partitions processed at once (default 1). */
  partitionsConsumedConcurrently?: number;
  eachBatch: (context: BatchContext) => Promise<void>;
}

/** A group consumer reading committed data only. */
export interface Consumer {
  connect(): Promise<void>;
  subscribe(topic: string, options?: { fromBeginning?: boolean }): Promise<void>;
  run(options: RunOptions): Promise<void>;
  /** Called after each join of the group with this member's partitions by topic. */
  onGroupJoin(listener: (assignment: Record<string, number[]>) => void): void;
  /** Called when the consumer crashed; `restarting` when it runs again on its own. */
  onCrash(listener: (error: Error, restarting: boolean) => void): void;
  /**
   * Called after each fetched batch, also one holding only transaction markers or aborted
   * records (which never reach `eachBatch`), with the offset of its last entry.
   */
  onBatchEnd(
    listener: (end: { topic: string; partition: number; lastOffset: string }) => void,
  ): void;
  /** The next fetch of the partition starts at `offset`. */
  seek(topic: string, partition: number, offset: string): void;
  pause(topic: string, partitions: number[]): void;
  resume(topic: string, partitions: number[]): void;
  /** Commits the group's offsets (each the next offset to read); rejects `KAFKA_NOT_MEMBER` when the group moved on. */
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

export interface PartitionMetadata {
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface PartitionOffsets {
  partition: number;
  /** The first offset still stored. */
  low: string;
  /** The offset the next record will get. */
  high: string;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  members: { memberId: string; clientId: string }[];
}

/** The admin calls the fleet uses. */
export interface Admin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Creates the topics, waiting for their leaders; false when one existed already. */
  createTopics(topics: TopicSpec[]): Promise<boolean>;
  /** Rejects when a topic does not exist. */
  fetchTopicMetadata(
    topics: string[],
  ): Promise<{ name: string; partitions: PartitionMetadata[] }[]>;
  fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Each partition's first offset at or after `timestampMs` (its end when none is that recent). */
  fetchTopicOffsetsByTimestamp(
    topic: string,
    timestampMs: number,
  ): Promise<{ partition: number; offset: string }[]>;
  /** The group's committed offsets of the topic ('-1' where none). */
  fetchOffsets(groupId: string, topic: string): Promise<{ partition: number; offset: string }[]>;
  /** Sets the group's committed offsets (the group must have no member). */
  setOffsets(
    groupId: string,
    topic: string,
    partitions: { partition: number; offset: string }[],
  ): Promise<void>;
  listGroups(): Promise<string[]>;
  describeGroups(groupIds: string[]): Promise<GroupDescription[]>;
  deleteGroups(groupIds: string[]): Promise<void>;
  /** Deletes every record before `offset` in each partition. */
  deleteTopicRecords(
    topic: string,
    partitions: { partition: number; offset: string }[],
  ): Promise<void>;
  /** The named configuration values of each topic, by topic. */
  describeTopicConfigs(
    topics: string[],
    names: string[],
  ): Promise<Record<string, Record<string, string>>>;
}

export interface ProducerOptions {
  /** Retries of one request inside the client (same sequence numbers: no duplicates). */
  retries?: number;
}

/** What every adapter's client is built from (lib/kafka/client.ts). */
export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  logger: Logger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Retries of one request inside the client before the caller sees an error. */
  retries?: number;
  /** No client logs (command-line tools that print their own). */
  silent?: boolean;
}

/** One Kafka client: the factory of every producer, consumer and admin of a service. */
export interface KafkaClient {
  readonly name: KafkaClientName;
  producer(options?: ProducerOptions): Producer;
  transactionalProducer(options: {
    transactionalId: string;
    transactionTimeoutMs: number;
  }): TransactionalProducer;
  consumer(options: ConsumerOptions): Consumer;
  /** `retries`: retries of each admin request (0: fail at once, as a health probe wants). */
  admin(options?: { retries?: number }): Admin;
}

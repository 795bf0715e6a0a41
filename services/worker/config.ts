/**
 * Worker configuration: one defaults object, read from `INTAKE_*` environment variables
 * and validated once at start.
 */
import { hostname } from 'node:os';
import { EnvReader, PROCESSING_THREAD, readKafkaConfig } from '../../lib/config';
import type { KafkaConfig, ProcessingThread } from '../../lib/config';
import { batchingDefaults } from '../../lib/kafka/batching-producer';
import type { BatchingProducerOptions } from '../../lib/kafka/batching-producer';
import { readPipelineConfig } from './pipeline/config';
import type { PipelineConfig } from './pipeline/config';

export interface WorkerConfig {
  instance: string;
  adminHost: string;
  adminPort: number;
  groupId: string;
  kafka: KafkaConfig;
  producer: BatchingProducerOptions;
  partitionsConsumedConcurrently: number;
  maxRecordsPerChunk: number;
  /** Most bytes fetched per raw partition per fetch (kafkajs `maxBytesPerPartition`). */
  fetchMaxBytesPerPartition: number;
  /**
   * How outbound records are made safe before the input is committed (`INTAKE_LOGGING`):
   * `sbml` (the default) a local durable outbound log; `hml` one Kafka transaction with the
   * input offsets; `none` send and wait (for comparison).
   */
  logging: WorkerLogging;
  /** Deduplication of retried events by id (`recent-ids.ts`); maxPerPartition 0 turns it off. */
  dedup: { windowMs: number; maxPerPartition: number };
  /** HML: the broker aborts a transaction left open this long (a worker that died mid-way). */
  transactionTimeoutMs: number;
  outboundLog: { dir: string; maxEntries: number; maxBytes: number };
  progressIntervalMs: number;
  /**
   * The group session timeout: how long a worker that stopped heartbeating (killed, frozen)
   * keeps its partitions before the group moves them; also bounds the rebalance a crashed
   * member holds up.
   */
  sessionTimeoutMs: number;
  /** How long a rebalance waits for live workers to finish their running chunk and rejoin. */
  rebalanceTimeoutMs: number;
  /** How long a new owner of a partition waits for its previous owner's records (handover.ts). */
  handoverTimeoutMs: number;
  pipeline: PipelineConfig;
  /**
   * Where chunks are processed (`INTAKE_WORKER_PROCESSING_THREAD`, `processing/`): `off`
   * (the default) on the consumer's thread, `on` on a thread of their own.
   */
  processingThread: ProcessingThread;
}

export const WORKER_LOGGING = ['sbml', 'hml', 'none'] as const;
export type WorkerLogging = (typeof WORKER_LOGGING)[number];

export const workerDefaults = {
  adminHost: '127.0.0.1',
  adminPort: 9100,
  groupId: 'intake-workers',
  partitionsConsumedConcurrently: 3,
  maxRecordsPerChunk: 20_000,
  fetchMaxBytesPerPartition: 4 * 1024 * 1024,
  /** Downstream sends wait for Kafka longer than the edge: a worker has no client waiting. */
  ackTimeoutMs: 30_000,
  /** The sender keeps every logged record in memory until acknowledged: this bounds the RSS too. */
  outboundLogMaxEntries: 50_000,
  outboundLogMaxBytes: 64 * 1024 * 1024,
  progressIntervalMs: 1000,
  handoverTimeoutMs: 10_000,
  // kafkajs' defaults: a shorter session moves a dead worker's partitions sooner, but under
  // load on few cores a resumed or busy worker then misses rebalances (a fault scenario
  // stalled so with 10 s); set INTAKE_WORKER_SESSION_TIMEOUT_MS to trade that off.
  sessionTimeoutMs: 30_000,
  rebalanceTimeoutMs: 60_000,
  transactionTimeoutMs: 30_000,
  dedupWindowMs: 10 * 60_000,
  dedupMaxIdsPerPartition: 50_000,
  /** At shutdown, how long to wait for the outbound log to drain (the rest is resent at start). */
  shutdownDeliveryWaitMs: 10_000,
};

export function loadWorkerConfig(
  env: Record<string, string | undefined> = process.env,
): WorkerConfig {
  const r = new EnvReader(env);
  const adminPort = r.int('INTAKE_WORKER_ADMIN_PORT', workerDefaults.adminPort, {
    min: 0,
    max: 65535,
  });
  const instance = r.str('INTAKE_INSTANCE', `worker-${hostname()}-${adminPort}`);
  const config: WorkerConfig = {
    instance,
    adminHost: r.str('INTAKE_WORKER_ADMIN_HOST', workerDefaults.adminHost),
    adminPort,
    groupId: r.str('INTAKE_GROUP_ID', workerDefaults.groupId),
    kafka: readKafkaConfig(r, 'intake-worker'),
    producer: {
      ...batchingDefaults,
      ackTimeoutMs: r.int('INTAKE_PRODUCER_ACK_TIMEOUT_MS', workerDefaults.ackTimeoutMs, {
        min: 100,
      }),
    },
    partitionsConsumedConcurrently: r.int(
      'INTAKE_PARTITIONS_CONSUMED_CONCURRENTLY',
      workerDefaults.partitionsConsumedConcurrently,
      { min: 1, max: 64 },
    ),
    maxRecordsPerChunk: r.int(
      'INTAKE_WORKER_MAX_RECORDS_PER_CHUNK',
      workerDefaults.maxRecordsPerChunk,
      { min: 1 },
    ),
    fetchMaxBytesPerPartition: r.int(
      'INTAKE_WORKER_FETCH_MAX_BYTES_PER_PARTITION',
      workerDefaults.fetchMaxBytesPerPartition,
      { min: 64 * 1024 },
    ),
    logging: r.oneOf('INTAKE_LOGGING', 'sbml', WORKER_LOGGING),
    dedup: {
      windowMs: r.int('INTAKE_DEDUP_WINDOW_MS', workerDefaults.dedupWindowMs, { min: 0 }),
      // On by default with HML only (with SBML: opt-in, docs/guarantees.md "Retried events").
      maxPerPartition: r.int(
        'INTAKE_DEDUP_MAX_IDS_PER_PARTITION',
        env.INTAKE_LOGGING === 'hml' ? workerDefaults.dedupMaxIdsPerPartition : 0,
        { min: 0 },
      ),
    },
    transactionTimeoutMs: r.int(
      'INTAKE_HML_TRANSACTION_TIMEOUT_MS',
      workerDefaults.transactionTimeoutMs,
      { min: 1000 },
    ),
    outboundLog: {
      dir: r.str('INTAKE_OUTBOUND_LOG_DIR', `.intake/${instance}/outbound-log`),
      maxEntries: r.int('INTAKE_OUTBOUND_LOG_MAX_ENTRIES', workerDefaults.outboundLogMaxEntries, {
        min: 1,
      }),
      maxBytes: r.int('INTAKE_OUTBOUND_LOG_MAX_BYTES', workerDefaults.outboundLogMaxBytes, {
        min: 1024,
      }),
    },
    progressIntervalMs: r.int('INTAKE_PROGRESS_INTERVAL_MS', workerDefaults.progressIntervalMs, {
      min: 10,
    }),
    sessionTimeoutMs: r.int('INTAKE_WORKER_SESSION_TIMEOUT_MS', workerDefaults.sessionTimeoutMs, {
      min: 6000,
      max: 300_000,
    }),
    rebalanceTimeoutMs: r.int(
      'INTAKE_WORKER_REBALANCE_TIMEOUT_MS',
      workerDefaults.rebalanceTimeoutMs,
      { min: 1000 },
    ),
    handoverTimeoutMs: r.int('INTAKE_HANDOVER_TIMEOUT_MS', workerDefaults.handoverTimeoutMs, {
      min: 0,
    }),
    pipeline: readPipelineConfig(r),
    processingThread: r.oneOf('INTAKE_WORKER_PROCESSING_THREAD', 'off', PROCESSING_THREAD),
  };
  r.done();
  return config;
}

/**
 * Worker configuration: one defaults object, read from `INTAKE_*` environment variables
 * and validated once at start.
 */
import { EnvReader, readKafkaConfig } from '../../lib/config';
import type { KafkaConfig } from '../../lib/config';
import { batchingDefaults } from '../../lib/kafka/batching-producer';
import type { BatchingProducerOptions } from '../../lib/kafka/batching-producer';

export interface WorkerConfig {
  instance: string;
  adminHost: string;
  adminPort: number;
  groupId: string;
  kafka: KafkaConfig;
  producer: BatchingProducerOptions;
  partitionsConsumedConcurrently: number;
  maxRecordsPerChunk: number;
}

export const workerDefaults = {
  adminHost: '127.0.0.1',
  adminPort: 9100,
  groupId: 'intake-workers',
  partitionsConsumedConcurrently: 3,
  maxRecordsPerChunk: 500,
  /** Downstream sends wait for Kafka longer than the edge: a worker has no client waiting. */
  ackTimeoutMs: 30_000,
};

export function loadWorkerConfig(
  env: Record<string, string | undefined> = process.env,
): WorkerConfig {
  const r = new EnvReader(env);
  const adminPort = r.int('INTAKE_WORKER_ADMIN_PORT', workerDefaults.adminPort, {
    min: 0,
    max: 65535,
  });
  const config: WorkerConfig = {
    instance: r.str('INTAKE_INSTANCE', `worker-${adminPort}`),
    adminHost: r.str('INTAKE_WORKER_ADMIN_HOST', workerDefaults.adminHost),
    adminPort,
    groupId: r.str('INTAKE_GROUP_ID', workerDefaults.groupId),
    kafka: readKafkaConfig(r, 'intake-worker'),
    producer: {
      ...batchingDefaults,
      lingerMs: r.int('INTAKE_PRODUCER_LINGER_MS', batchingDefaults.lingerMs, {
        min: 0,
        max: 1000,
      }),
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
  };
  r.done();
  return config;
}

/**
 * The worker service: owns startup and shutdown order.
 *
 * Start: config -> topic metadata -> producer -> processing (the pipeline and its state;
 * on a thread of its own with `INTAKE_WORKER_PROCESSING_THREAD=on`: `processing/`) ->
 * delivery, started (SBML: open
 * the outbound log, resend everything still in it before any new input, follow the progress
 * view of the hand-over when state is kept; HML: the admin client of the claims) -> admin
 * server -> consumer -> progress publisher.
 * SIGTERM: stop fetching and finish the running chunk (log, commit; or its transaction) ->
 * leave the group -> drain the delivery (SBML: deliver what the log holds, bounded wait;
 * what remains is resent on the next start) -> publish progress -> close the delivery (the
 * progress view, the log, the transactional producers) -> stop the processing thread ->
 * disconnect -> exit 0.
 *
 * `INTAKE_LOGGING` picks the delivery (`delivery/create-delivery.ts`): `sbml` (default),
 * `hml` (transactions, no local log, no hand-over wait: a new owner fences the previous one
 * instead) or `none`; this file does not branch on it.
 */
import type { Server } from 'node:http';
import { startAdminServer } from '../../lib/http/admin-server';
import { createKafkaClient } from '../../lib/kafka/client';
import { TopicPartitions } from '../../lib/kafka/partitioner';
import { exitOnStartupFailure, handleShutdownSignals } from '../../lib/lifecycle';
import { createLogger } from '../../lib/logger';
import { createRegistry } from '../../lib/metrics';
import { loadWorkerConfig, workerDefaults } from './config';
import { RawConsumer } from './consumer/raw-consumer';
import { createDelivery } from './delivery/create-delivery';
import { createWorkerMetrics } from './metrics';
import { DeliveryProgress } from './outbound/progress';
import { ProgressPublisher } from './outbound/progress-publisher';
import { workerOutputs } from './outbound/outputs';
import { Replier } from './outbound/replier';
import { createProcessing } from './processing/create-processing';
import { StateRestorer } from './state/state-restorer';
import { WorkerForgets } from './state/forget';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger('worker').child({ instance: config.instance });
  const kafka = createKafkaClient(config.kafka, logger);
  const { topics } = config.kafka;

  const partitions = new TopicPartitions();
  const admin = kafka.admin();
  await admin.connect();
  await partitions.refresh(admin, [
    topics.processed,
    topics.dlq,
    topics.scores,
    topics.progress,
    topics.replies,
    topics.rejections,
  ]);
  await admin.disconnect();

  // One producer for replies, progress and (SBML, none) the outbound records; with HML the
  // outbound records go through the delivery's transactional producers.
  const kafkaProducer = kafka.producer();
  await kafkaProducer.connect();

  const processing = await createProcessing({
    thread: config.processingThread,
    settings: {
      pipeline: config.pipeline,
      dedup: config.dedup,
      topics,
      partitionCounts: partitions.counted(),
      instance: config.instance,
    },
    logger,
    onFailure: (err) => {
      // Its state is gone with it: stop; a restart restores it and resends what was logged.
      logger.fatal({ err }, 'processing_thread_failed');
      process.exit(1);
    },
  });
  const { scores: scorer, ids: recentIds } = processing;
  const progress = new DeliveryProgress();
  const metrics = createWorkerMetrics(createRegistry('worker', config.instance), {
    logStats: () => delivery.logStats(),
    backlog: () => delivery.backlog(),
  });
  const outputs = workerOutputs(topics, partitions);
  const delivery = await createDelivery({
    config,
    kafka,
    producer: kafkaProducer,
    progress,
    outputs,
    metrics,
    logger,
    keepsState: scorer !== null || recentIds.enabled,
  });
  const replier = new Replier({ producer: kafkaProducer, outputs, logger });
  for (const acknowledged of [
    progress.acknowledged,
    replier.acknowledged,
    (records: readonly unknown[]) => metrics.delivered.inc(records.length),
  ])
    delivery.onAcknowledged(acknowledged);
  metrics.resent.inc(await delivery.start());

  const restorer = new StateRestorer({
    kafka,
    topic: topics.scores,
    scorer,
    recent: { rawTopic: topics.raw, ids: recentIds, maxPerPartition: config.dedup.maxPerPartition },
    handover: delivery.handover,
    committedHere: (p) => {
      const snapshot = progress.snapshot(p);
      return snapshot ? BigInt(snapshot.committedNext) : undefined;
    },
    logger,
  });
  const forgets = new WorkerForgets({
    kafka,
    topics,
    scorer,
    producer: kafkaProducer,
    partitions,
    logger,
  });
  await forgets.start();
  const consumer: RawConsumer = new RawConsumer({
    consumer: kafka.consumer({
      groupId: config.groupId,
      sessionTimeoutMs: config.sessionTimeoutMs,
      rebalanceTimeoutMs: config.rebalanceTimeoutMs,
      maxBytesPerPartition: config.fetchMaxBytesPerPartition,
      maxBytes: config.fetchMaxBytesPerPartition * 8,
    }),
    delivery,
    processing,
    onAssigned: (assigned) => restorer.assigned(assigned),
    beforePartition: (partition) => restorer.ready(partition),
    rawTopic: topics.raw,
    metrics,
    logger,
    partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
    maxRecordsPerChunk: config.maxRecordsPerChunk,
  });
  const publisher = new ProgressPublisher({
    producer: kafkaProducer,
    progress,
    outputs,
    rawTopic: topics.raw,
    worker: config.instance,
    logger,
    intervalMs: config.progressIntervalMs,
  });

  const adminServer: Server = await startAdminServer({
    host: config.adminHost,
    port: config.adminPort,
    registry: metrics.registry,
    instance: config.instance,
    readiness: () => {
      const problem = delivery.problem();
      return {
        ok: consumer.isRunning() && problem === null,
        details: {
          logging: config.logging,
          processing: processing.where,
          problem,
          paused: consumer.isPaused(),
          partitions: consumer.assignedPartitions,
          ...delivery.details(),
        },
      };
    },
  });
  await consumer.start();
  if (!delivery.writesProgress) publisher.start();
  logger.info(
    {
      groupId: config.groupId,
      topic: topics.raw,
      adminPort: config.adminPort,
      logging: config.logging,
    },
    'worker_started',
  );

  handleShutdownSignals(logger, async () => {
    await consumer.stop();
    await delivery.drain(workerDefaults.shutdownDeliveryWaitMs);
    if (!delivery.writesProgress) await publisher.stop();
    await forgets.stop();
    await delivery.close();
    await processing.close();
    await kafkaProducer.disconnect();
    await new Promise<void>((resolve) => adminServer.close(() => resolve()));
  });
}

main().catch((err: unknown) => exitOnStartupFailure(createLogger('worker'), err));

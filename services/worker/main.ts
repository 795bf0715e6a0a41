/**
 * The worker service: owns startup and shutdown order.
 *
 * Start: config -> topic metadata -> producer -> outbound log (SBML) -> resend everything
 * still in the log (before any new input) -> admin server -> progress view (hand-over of
 * partitions, when scoring) -> consumer -> progress publisher.
 * SIGTERM: stop fetching and finish the running chunk (log, commit) -> leave the group ->
 * deliver what the log holds (bounded wait; what remains is resent on the next start) ->
 * publish progress -> stop the progress view -> close the log -> disconnect -> exit 0.
 */
import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { startAdminServer } from '../../lib/http/admin-server';
import { BatchingProducer } from '../../lib/kafka/batching-producer';
import { createConsumer, createKafka, createProducer } from '../../lib/kafka/client';
import { TopicPartitions } from '../../lib/kafka/partitioner';
import { TopicView, memoryStore } from '../../lib/kafka/topic-view';
import { ResettableProducer } from '../../lib/kafka/resettable-producer';
import { exitOnStartupFailure, handleShutdownSignals, sleep } from '../../lib/lifecycle';
import { createLogger } from '../../lib/logger';
import type { Logger } from '../../lib/logger';
import { createRegistry } from '../../lib/metrics';
import { loadWorkerConfig, workerDefaults } from './config';
import { RawConsumer } from './consumer/raw-consumer';
import { createWorkerMetrics } from './metrics';
import { DirectDelivery, LoggedDelivery } from './outbound/delivery';
import type { Delivery } from './outbound/delivery';
import type { OutboundLogPort } from './outbound/log-port';
import { openOutboundLog } from './outbound/outbound-log';
import { DeliveryProgress } from './outbound/progress';
import { ProgressPublisher, parseProgressRecord } from './outbound/progress-publisher';
import type { ProgressRecord } from './outbound/progress-publisher';
import { Replier } from './outbound/replier';
import { OutboundSender } from './outbound/sender';
import type { SendPort } from './outbound/sender';
import { createPipeline } from './pipeline/create-pipeline';
import { Handover } from './state/handover';
import { StateRestorer } from './state/state-restorer';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger('worker').child({ instance: config.instance });
  const kafka = createKafka(config.kafka, logger);
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

  const kafkaProducer = new ResettableProducer(() => createProducer(kafka));
  await kafkaProducer.connect();

  let log: OutboundLogPort | null = null;
  let sender: OutboundSender | null = null;
  const progress = new DeliveryProgress();
  const metrics = createWorkerMetrics(createRegistry('worker', config.instance), {
    logStats: () => log?.stats() ?? null,
    backlog: () => sender?.backlog ?? 0,
  });

  const replier = new Replier({ producer: kafkaProducer, partitions, topics, logger });
  let delivery: Delivery;
  let directProducer: BatchingProducer | null = null;
  if (config.sbml) {
    mkdirSync(config.outboundLog.dir, { recursive: true });
    const opened = await openOutboundLog({ ...config.outboundLog, logger });
    log = opened;
    sender = new OutboundSender({
      log: opened,
      producer: faultDelaySends(kafkaProducer, logger),
      logger,
      options: { ackTimeoutMs: config.producer.ackTimeoutMs },
      onDelivered: (delivered) => {
        metrics.delivered.inc(delivered.length);
        for (const d of delivered)
          progress.acknowledged(d.entry.source.partition, BigInt(d.entry.source.offset));
        replier.delivered(delivered.map((d) => ({ ...d.entry, offset: d.offset })));
      },
      onFailure: () => metrics.sendFailures.inc(),
    });
    const resent = await sender.resendPending();
    metrics.resent.inc(resent);
    if (resent > 0) logger.info({ resent }, 'outbound_log_resent');
    delivery = new LoggedDelivery({
      log: opened,
      sender,
      onAppend: (s) => metrics.logSyncSeconds.observe(s),
      afterAppend: faultAfterLogSync(logger),
    });
  } else {
    directProducer = new BatchingProducer({
      producer: kafkaProducer,
      logger,
      options: config.producer,
    });
    delivery = new DirectDelivery({
      producer: directProducer,
      onDelivered: (records) => {
        metrics.delivered.inc(records.length);
        replier.delivered(records);
      },
    });
  }

  const { pipeline, scorer } = createPipeline({
    logger,
    config: config.pipeline,
    instance: config.instance,
  });
  // Followed live: a new owner of a partition waits on it before restoring its state.
  const progressView = new TopicView<ProgressRecord>({
    kafka,
    topic: topics.progress,
    store: memoryStore(),
    logger,
    parse: parseProgressRecord,
  });
  const handoverAdmin = kafka.admin();
  const handover = new Handover({
    admin: handoverAdmin,
    groupId: config.groupId,
    rawTopic: topics.raw,
    progress: progressView,
    pendingHere: (p) => progress.hasPending(p),
    worker: config.instance,
    timeoutMs: config.handoverTimeoutMs,
    logger,
  });
  const restorer = new StateRestorer({ kafka, topic: topics.scores, scorer, handover, logger });
  const consumer: RawConsumer = new RawConsumer({
    consumer: createConsumer(kafka, { groupId: config.groupId }),
    delivery,
    progress,
    pipeline,
    onAssigned: (assigned) => restorer.assigned(assigned),
    beforePartition: (partition) => restorer.ready(partition),
    partitions,
    topics: { ...topics, outputs: { scores: topics.scores, rejections: topics.rejections } },
    metrics,
    logger,
    partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
    maxRecordsPerChunk: config.maxRecordsPerChunk,
  });
  const publisher = new ProgressPublisher({
    producer: kafkaProducer,
    progress,
    partitions,
    rawTopic: topics.raw,
    progressTopic: topics.progress,
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
          sbml: config.sbml,
          problem,
          paused: consumer.isPaused(),
          partitions: consumer.assignedPartitions,
          outboundLog: log?.stats() ?? null,
          senderBacklog: sender?.backlog ?? 0,
        },
      };
    },
  });
  if (scorer) {
    await handoverAdmin.connect();
    await progressView.start();
  }
  await consumer.start();
  publisher.start();
  logger.info(
    { groupId: config.groupId, topic: topics.raw, adminPort: config.adminPort, sbml: config.sbml },
    'worker_started',
  );

  handleShutdownSignals(logger, async () => {
    await consumer.stop();
    if (sender) {
      await Promise.race([sender.drain(), sleep(workerDefaults.shutdownDeliveryWaitMs)]);
      sender.stop();
    }
    await directProducer?.close();
    await publisher.stop();
    if (scorer) {
      await progressView.stop();
      await handoverAdmin.disconnect();
    }
    await log?.close();
    await kafkaProducer.disconnect();
    await new Promise<void>((resolve) => adminServer.close(() => resolve()));
  });
}

/**
 * `INTAKE_FAULT=crash-after-log-sync`: the worker kills itself (SIGKILL) right after its
 * first durable append, before committing or sending: the fault-injection tests use it to
 * prove that a restart resends what the log holds.
 */
function faultAfterLogSync(logger: Logger): (() => void) | undefined {
  if (process.env.INTAKE_FAULT !== 'crash-after-log-sync') return undefined;
  return () => {
    logger.warn({ fault: 'crash-after-log-sync' }, 'fault_injected_killing_self');
    logger.flush();
    process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * `INTAKE_FAULT=delay-sends:<ms>`: every downstream send of the outbound log waits that
 * long first, so records stay in the log after their input was committed: the tests use
 * it to hand partitions over while a worker still has records in flight.
 */
function faultDelaySends(producer: SendPort, logger: Logger): SendPort {
  const match = /^delay-sends:(\d+)$/.exec(process.env.INTAKE_FAULT ?? '');
  if (!match) return producer;
  const ms = Number(match[1]);
  logger.warn({ fault: 'delay-sends', ms }, 'fault_injected_delaying_sends');
  return {
    sendBatch: async (batch) => {
      await sleep(ms);
      return producer.sendBatch(batch);
    },
    reset: () => producer.reset?.() ?? Promise.resolve(),
  };
}

main().catch((err: unknown) => exitOnStartupFailure(createLogger('worker'), err));

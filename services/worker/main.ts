/**
 * The worker service: owns startup and shutdown order.
 *
 * Start: config -> topic metadata -> producer -> outbound log (SBML) -> resend everything
 * still in the log (before any new input) -> admin server -> progress view (hand-over of
 * partitions, when scoring with SBML) -> consumer -> progress publisher.
 * SIGTERM: stop fetching and finish the running chunk (log, commit; or its transaction) ->
 * leave the group -> deliver what the log holds (bounded wait; what remains is resent on
 * the next start) -> publish progress -> stop the progress view -> close the log and the
 * transactional producers -> disconnect -> exit 0.
 *
 * `INTAKE_LOGGING` picks the hand-off: `sbml` (default), `hml` (transactions, no local log,
 * no hand-over wait: a new owner fences the previous one instead) or `none`.
 */
import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { startAdminServer } from '../../lib/http/admin-server';
import { createKafkaClient } from '../../lib/kafka/client';
import { TopicPartitions } from '../../lib/kafka/partitioner';
import { TopicView, memoryStore } from '../../lib/kafka/topic-view';
import { exitOnStartupFailure, handleShutdownSignals, sleep } from '../../lib/lifecycle';
import { createLogger } from '../../lib/logger';
import type { Logger } from '../../lib/logger';
import { createRegistry } from '../../lib/metrics';
import { parseProgress } from '../../lib/records/progress';
import type { ProgressRecord } from '../../lib/records/progress';
import { loadWorkerConfig, workerDefaults } from './config';
import { RawConsumer } from './consumer/raw-consumer';
import type { HandOff } from './consumer/raw-consumer';
import { RecentIds } from './consumer/recent-ids';
import { createWorkerMetrics } from './metrics';
import { Delivery } from './outbound/delivery';
import type { OutboundLogPort } from './outbound/log-port';
import { openOutboundLog } from './outbound/outbound-log';
import { DeliveryProgress } from './outbound/progress';
import { ProgressPublisher } from './outbound/progress-publisher';
import { Replier } from './outbound/replier';
import { OutboundSender } from './outbound/sender';
import { TransactionalDelivery } from './outbound/transactional-delivery';
import type { SendPort } from './outbound/sender';
import { createPipeline } from './pipeline/create-pipeline';
import { Handover } from './state/handover';
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

  // One producer for replies, progress and the outbound records (SBML, none); with HML the
  // outbound records go through the transactional producers.
  const kafkaProducer = kafka.producer();
  await kafkaProducer.connect();

  let log: OutboundLogPort | null = null;
  if (config.logging === 'sbml') {
    mkdirSync(config.outboundLog.dir, { recursive: true });
    log = await openOutboundLog({ ...config.outboundLog, logger });
  }
  const outboundLog = log;
  const progress = new DeliveryProgress();
  const replier = new Replier({
    producer: kafkaProducer,
    partitions,
    topic: topics.replies,
    logger,
  });
  const sender = new OutboundSender({
    log,
    producer: faultDelaySends(kafkaProducer, logger),
    logger,
    options: { ackTimeoutMs: config.producer.ackTimeoutMs },
    onFailure: () => metrics.sendFailures.inc(),
  });
  const metrics = createWorkerMetrics(createRegistry('worker', config.instance), {
    logStats: () => outboundLog?.stats() ?? null,
    backlog: () => sender.backlog,
  });
  const transactionsAdmin = kafka.admin();
  const transactions =
    config.logging === 'hml'
      ? new TransactionalDelivery({
          kafka,
          admin: transactionsAdmin,
          groupId: config.groupId,
          rawTopic: topics.raw,
          logger,
          ackTimeoutMs: config.producer.ackTimeoutMs,
          transactionTimeoutMs: config.transactionTimeoutMs,
          onFailure: () => metrics.sendFailures.inc(),
        })
      : null;
  for (const acknowledged of [
    progress.acknowledged,
    replier.acknowledged,
    (records: readonly unknown[]) => metrics.delivered.inc(records.length),
  ]) {
    sender.onAcknowledged(acknowledged);
    transactions?.onAcknowledged(acknowledged);
  }
  const resent = await sender.resendPending();
  metrics.resent.inc(resent);
  if (resent > 0) logger.info({ resent }, 'outbound_log_resent');
  const delivery = new Delivery({
    sender,
    log,
    onAppend: (s) => metrics.logSyncSeconds.observe(s),
    afterAppend: faultAfterLogSync(logger),
  });
  const handOff: HandOff = transactions
    ? { kind: 'transactional', transactions }
    : { kind: 'logged', delivery };

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
    parse: parseProgress,
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
    noProgressGraceMs: 3 * config.progressIntervalMs,
    logger,
  });
  const recentIds = new RecentIds(config.dedup);
  const keepsState = scorer !== null || recentIds.enabled;
  const restorer = new StateRestorer({
    kafka,
    topic: topics.scores,
    scorer,
    recent: { rawTopic: topics.raw, ids: recentIds, maxPerPartition: config.dedup.maxPerPartition },
    // HML: claiming a partition fences its previous owner, whose open transaction (scores
    // included) is aborted: nothing to wait for, and the restore reads committed data.
    handover: transactions
      ? {
          settled: (ps) => claimAll(transactions, ps),
          committed: (ps) => claimAll(transactions, ps),
        }
      : { settled: (ps) => handover.settled(ps), committed: () => handover.committedOffsets() },
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
    handOff,
    progress,
    pipeline,
    recentIds,
    replier,
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
      const problem = transactions
        ? transactions.lastError && `transactions failing: ${transactions.lastError}`
        : delivery.problem();
      return {
        ok: consumer.isRunning() && problem === null,
        details: {
          logging: config.logging,
          problem,
          paused: consumer.isPaused(),
          partitions: consumer.assignedPartitions,
          outboundLog: log?.stats() ?? null,
          senderBacklog: sender.backlog,
        },
      };
    },
  });
  if (transactions) await transactionsAdmin.connect();
  else if (keepsState) {
    await handoverAdmin.connect();
    await progressView.start();
  }
  await consumer.start();
  publisher.start();
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
    await Promise.race([sender.drain(), sleep(workerDefaults.shutdownDeliveryWaitMs)]);
    sender.stop();
    await publisher.stop();
    await forgets.stop();
    if (transactions) {
      await transactions.close();
      await transactionsAdmin.disconnect();
    } else if (keepsState) {
      await progressView.stop();
      await handoverAdmin.disconnect();
    }
    await log?.close();
    await kafkaProducer.disconnect();
    await new Promise<void>((resolve) => adminServer.close(() => resolve()));
  });
}

/** HML: claims each partition (fencing its previous owner); the offsets to start from. */
async function claimAll(
  transactions: TransactionalDelivery,
  partitions: readonly number[],
): Promise<ReadonlyMap<number, bigint>> {
  const committed = new Map<number, bigint>();
  await Promise.all(
    partitions.map(async (p) => {
      committed.set(p, await transactions.claim(p));
    }),
  );
  return committed;
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
    reset: () => producer.reset(),
  };
}

main().catch((err: unknown) => exitOnStartupFailure(createLogger('worker'), err));

/**
 * The one factory of the worker's delivery: `INTAKE_LOGGING` (`config.logging`) picks the
 * implementation, SBML (`sbml`, the default, and `none`: the same flow without the log) or
 * HML (`hml`). Everything mode-specific is built here: the outbound log, the sender and
 * the progress-based state hand-over (SBML), or the transactional producers (HML).
 */
import { mkdirSync } from 'node:fs';
import type { KafkaClient, Producer } from '../../../lib/kafka/port';
import { TopicView, memoryStore } from '../../../lib/kafka/topic-view';
import type { Logger } from '../../../lib/logger';
import { parseProgress } from '../../../lib/records/progress';
import type { ProgressRecord } from '../../../lib/records/progress';
import type { WorkerConfig } from '../config';
import type { WorkerMetrics } from '../metrics';
import type { Outputs } from '../outbound/outputs';
import type { DeliveryProgress } from '../outbound/progress';
import { Handover } from '../state/handover';
import type { WorkerDelivery } from './delivery';
import { CommittedProgress } from './hml/committed-progress';
import { HmlDelivery } from './hml/hml-delivery';
import { TransactionalDelivery } from './hml/transactions';
import { faultAfterLogSync, faultDelaySends } from './sbml/faults';
import type { OutboundLogPort } from './sbml/log-port';
import { openOutboundLog } from './sbml/outbound-log';
import { SbmlDelivery } from './sbml/sbml-delivery';
import { OutboundSender } from './sbml/sender';

export type DeliveryConfig = Pick<
  WorkerConfig,
  | 'logging'
  | 'instance'
  | 'groupId'
  | 'kafka'
  | 'producer'
  | 'outboundLog'
  | 'transactionTimeoutMs'
  | 'handoverTimeoutMs'
  | 'progressIntervalMs'
>;

export interface DeliveryDeps {
  config: DeliveryConfig;
  kafka: KafkaClient;
  /** The worker's one (idempotent) producer: the SBML sender sends through it. */
  producer: Pick<Producer, 'sendBatch' | 'reset'>;
  progress: DeliveryProgress;
  /** The outputs registry (HML writes the progress records through it). */
  outputs: Pick<Outputs, 'encode'>;
  metrics: Pick<WorkerMetrics, 'sendFailures' | 'logSyncSeconds'>;
  logger: Logger;
  /** True when the worker keeps state per partition (scores, recent ids): hand-overs matter. */
  keepsState: boolean;
}

export async function createDelivery(deps: DeliveryDeps): Promise<WorkerDelivery> {
  return deps.config.logging === 'hml' ? createHml(deps) : createSbml(deps);
}

async function createSbml(deps: DeliveryDeps): Promise<SbmlDelivery> {
  const { config, kafka, logger, metrics, progress } = deps;
  let log: OutboundLogPort | null = null;
  if (config.logging === 'sbml') {
    mkdirSync(config.outboundLog.dir, { recursive: true });
    log = await openOutboundLog({ ...config.outboundLog, logger });
  }
  const sender = new OutboundSender({
    log,
    producer: faultDelaySends(deps.producer, logger),
    logger,
    options: { ackTimeoutMs: config.producer.ackTimeoutMs },
    onFailure: () => metrics.sendFailures.inc(),
  });
  // Followed live: a new owner of a partition waits on it before restoring its state.
  const progressView = progressTopicView(deps);
  const admin = kafka.admin();
  const handover = new Handover({
    admin,
    groupId: config.groupId,
    rawTopic: config.kafka.topics.raw,
    progress: progressView,
    pendingHere: (p) => progress.hasPending(p),
    worker: config.instance,
    timeoutMs: config.handoverTimeoutMs,
    noProgressGraceMs: 3 * config.progressIntervalMs,
    logger,
  });
  const resources = deps.keepsState
    ? {
        start: async () => {
          await admin.connect();
          await progressView.start();
        },
        stop: async () => {
          await progressView.stop();
          await admin.disconnect();
        },
      }
    : undefined;
  return new SbmlDelivery({
    sender,
    log,
    progress,
    logger,
    handover: {
      settled: (partitions) => handover.settled(partitions),
      committed: () => handover.committedOffsets(),
    },
    keepsState: deps.keepsState,
    resources,
    onAppend: (s) => metrics.logSyncSeconds.observe(s),
    afterAppend: faultAfterLogSync(logger),
  });
}

function createHml(deps: DeliveryDeps): HmlDelivery {
  const { config, kafka, logger, metrics } = deps;
  const admin = kafka.admin();
  const committedProgress = new CommittedProgress({
    view: progressTopicView(deps),
    outputs: deps.outputs,
    rawTopic: config.kafka.topics.raw,
    worker: config.instance,
    catchUpTimeoutMs: config.producer.ackTimeoutMs,
  });
  const transactions = new TransactionalDelivery({
    kafka,
    admin,
    progress: committedProgress,
    groupId: config.groupId,
    rawTopic: config.kafka.topics.raw,
    logger,
    ackTimeoutMs: config.producer.ackTimeoutMs,
    transactionTimeoutMs: config.transactionTimeoutMs,
    onFailure: () => metrics.sendFailures.inc(),
  });
  return new HmlDelivery({ transactions, progress: deps.progress, admin, committedProgress });
}

/** A view of the progress topic (latest record per raw partition), held in memory. */
function progressTopicView({ kafka, config, logger }: DeliveryDeps): TopicView<ProgressRecord> {
  return new TopicView<ProgressRecord>({
    kafka,
    topic: config.kafka.topics.progress,
    store: memoryStore(),
    logger,
    parse: parseProgress,
  });
}

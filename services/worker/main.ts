/**
 * The worker service: owns startup and shutdown order.
 *
 * Start: config -> downstream topic metadata -> producer -> admin server -> consumer.
 * SIGTERM: stop fetching and finish the running batch (deliver, commit) -> leave the
 * group -> flush the producer -> disconnect -> exit 0.
 */
import type { Server } from 'node:http';
import { startAdminServer } from '../../lib/http/admin-server';
import { BatchingProducer } from '../../lib/kafka/batching-producer';
import { createConsumer, createKafka, createProducer } from '../../lib/kafka/client';
import { TopicPartitions } from '../../lib/kafka/partitioner';
import { exitOnStartupFailure, handleShutdownSignals } from '../../lib/lifecycle';
import { createLogger } from '../../lib/logger';
import { createRegistry } from '../../lib/metrics';
import { loadWorkerConfig } from './config';
import { RawConsumer } from './consumer/raw-consumer';
import { createWorkerMetrics } from './metrics';
import { Pipeline } from './pipeline/pipeline';
import { passThroughStep } from './pipeline/steps/pass-through-step';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger('worker').child({ instance: config.instance });
  const kafka = createKafka(config.kafka, logger);
  const metrics = createWorkerMetrics(createRegistry('worker', config.instance));

  const partitions = new TopicPartitions();
  const admin = kafka.admin();
  await admin.connect();
  await partitions.refresh(admin, [config.kafka.topics.processed, config.kafka.topics.dlq]);
  await admin.disconnect();

  const kafkaProducer = createProducer(kafka);
  await kafkaProducer.connect();
  const producer = new BatchingProducer({
    producer: kafkaProducer,
    logger,
    options: config.producer,
  });
  const consumer = new RawConsumer({
    consumer: createConsumer(kafka, { groupId: config.groupId }),
    producer,
    pipeline: new Pipeline([passThroughStep(config.instance)]),
    partitions,
    topics: config.kafka.topics,
    metrics,
    logger,
    partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
    maxRecordsPerChunk: config.maxRecordsPerChunk,
  });
  const adminServer: Server = await startAdminServer({
    host: config.adminHost,
    port: config.adminPort,
    registry: metrics.registry,
    instance: config.instance,
    readiness: () => ({ ok: consumer.isRunning(), details: { producer: producer.stats() } }),
  });
  await consumer.start();
  logger.info(
    { groupId: config.groupId, topic: config.kafka.topics.raw, adminPort: config.adminPort },
    'worker_started',
  );

  handleShutdownSignals(logger, async () => {
    await consumer.stop();
    await producer.close();
    await kafkaProducer.disconnect();
    await new Promise<void>((resolve) => adminServer.close(() => resolve()));
  });
}

main().catch((err: unknown) => exitOnStartupFailure(createLogger('worker'), err));

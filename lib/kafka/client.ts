/**
 * Kafka client factories. One long-lived producer per process, never one per request.
 * Safety-critical settings (idempotence, acks=all at send time, no auto topic creation,
 * manual offset commits in consumers) are applied after any caller overrides, so they
 * cannot be turned off by accident.
 */
import { Kafka, Partitioners } from 'kafkajs';
import type { Consumer, ConsumerConfig, Producer, ProducerConfig, RetryOptions } from 'kafkajs';
import type { KafkaConfig } from '../config';
import { kafkaLogCreator } from '../logger';
import type { Logger } from '../logger';

export interface KafkaClientOptions {
  /** Retries of one request inside kafkajs before the caller sees an error. */
  retry?: RetryOptions;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export function createKafka(
  config: KafkaConfig,
  logger: Logger,
  options: KafkaClientOptions = {},
): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logCreator: kafkaLogCreator(logger),
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 10000,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 5, ...options.retry },
  });
}

/** An idempotent producer (acks=all is set on each send); cannot auto-create topics. */
export function createProducer(kafka: Kafka, overrides: ProducerConfig = {}): Producer {
  return kafka.producer({
    ...overrides,
    // NOTE: idempotence needs at most one in-flight request per connection in kafkajs;
    // together they give exactly-once, in-order appends per partition across retries.
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/**
 * A group consumer; offsets are committed by the caller only (see the worker). It reads
 * committed data only (`read_committed`): outputs of aborted transactions never reach it.
 */
export function createConsumer(kafka: Kafka, config: ConsumerConfig): Consumer {
  const consumer = kafka.consumer({
    ...config,
    allowAutoTopicCreation: false,
    readUncommitted: false,
  });
  restartAfterTransientCrash(consumer);
  return consumer;
}

/**
 * Errors kafkajs takes as final although they pass: it stops the consumer for good on them
 * (no restart), e.g. a group coordinator not found yet while a broker starts, which left an
 * edge that started beside a loaded broker without its replies consumer (503s for ever).
 */
const TRANSIENT_CRASHES = new Set(['KafkaJSGroupCoordinatorNotFound']);

/** After such a crash, runs the consumer again (same handlers), once a second, until it joins. */
function restartAfterTransientCrash(consumer: Consumer, delayMs = 1000): void {
  const run = consumer.run.bind(consumer);
  const disconnect = consumer.disconnect.bind(consumer);
  let runConfig: Parameters<Consumer['run']>[0];
  let stopped = false;
  consumer.run = (c) => {
    runConfig = c;
    return run(c);
  };
  consumer.disconnect = () => {
    stopped = true;
    return disconnect();
  };
  const restart = (): void => {
    if (stopped) return;
    consumer
      .connect()
      .then(() => run(runConfig))
      .catch(() => setTimeout(restart, delayMs));
  };
  consumer.on(consumer.events.CRASH, (e) => {
    const { error, restart: kafkajsRestarts } = e.payload;
    if (kafkajsRestarts || stopped || !TRANSIENT_CRASHES.has(error.name)) return;
    setTimeout(restart, delayMs);
  });
}

/** acks=all: the value kafkajs expects for "all in-sync replicas". */
export const ACKS_ALL = -1;

/**
 * The producer behind one lane of the batching producer, from either Kafka client
 * (`INTAKE_KAFKA_CLIENT`): `kafkajs` (the default) or `platformatic`
 * (`@platformatic/kafka` 1.x). Both are idempotent, send with acks=all, keep one request
 * in flight and start over with a new producer id after a failed request.
 */
import type { Kafka } from 'kafkajs';
import type { SendBatchPort } from './batching-producer';
import { createProducer } from './client';
import { PlatformaticProducer } from './platformatic-producer';
import { ResettableProducer } from './resettable-producer';

export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

export interface ProducerLane extends SendBatchPort {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  reset(): Promise<void>;
}

export function createProducerLane(
  client: KafkaClientName,
  kafka: Kafka,
  config: { clientId: string; brokers: string[] },
): ProducerLane {
  if (client === 'platformatic') {
    return new PlatformaticProducer({ clientId: config.clientId, brokers: config.brokers });
  }
  return new ResettableProducer(() => createProducer(kafka));
}

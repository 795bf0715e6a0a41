/**
 * The one factory of Kafka clients: `INTAKE_KAFKA_CLIENT` (per service, `config.client`)
 * picks the adapter, `kafkajs` (the default) or `platformatic` (@platformatic/kafka 1.x),
 * and every producer, transactional producer, consumer and admin of the service comes from
 * the client it returns. Safety-critical settings (idempotence, acks=all, no auto topic
 * creation, read_committed, manual commits) are the adapters' and cannot be overridden.
 */
import type { KafkaConfig } from '../config';
import type { Logger } from '../logger';
import { KafkajsClient } from './kafkajs';
import { PlatformaticClient } from './platformatic';
import type { KafkaClient, KafkaClientOptions } from './port';

export { KAFKA_CLIENTS } from './port';
export type { KafkaClientName } from './port';

/** Options of a client beyond its identity (`clientId`, `brokers`, `logger`). */
export type ClientTuning = Omit<KafkaClientOptions, 'clientId' | 'brokers' | 'logger'>;

export function createKafkaClient(
  config: Pick<KafkaConfig, 'client' | 'clientId' | 'brokers'>,
  logger: Logger,
  options: ClientTuning = {},
): KafkaClient {
  const common = { clientId: config.clientId, brokers: config.brokers, logger, ...options };
  return config.client === 'platformatic'
    ? new PlatformaticClient(common)
    : new KafkajsClient(common);
}

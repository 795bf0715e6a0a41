/**
 * Claiming a transactional id: the one place the worker (a raw partition's outputs, HML)
 * and the puller (an upstream's writer) take over from whoever wrote with that id before.
 * Each client's adapter makes `connect()` the moment of fencing (kafkajs registers an id
 * lazily, so its adapter runs an empty transaction there); callers rely on this helper,
 * not on a client's ways.
 */
import type { KafkaClient, TransactionalProducer } from './port';

export interface ClaimOptions {
  transactionalId: string;
  /** The broker aborts a transaction left open this long (a producer that died mid-way). */
  transactionTimeoutMs: number;
}

/**
 * A connected transactional producer of the id. Resolves only once every earlier producer
 * with the id is fenced (its later writes fail with `KAFKA_FENCED`) and the broker has
 * completed or aborted its open transaction: what is read after this (a committed offset,
 * a stored position) includes everything the previous owner committed.
 */
export async function claimTransactionalId(
  kafka: Pick<KafkaClient, 'transactionalProducer'>,
  options: ClaimOptions,
): Promise<TransactionalProducer> {
  const producer = kafka.transactionalProducer(options);
  await producer.connect();
  return producer;
}

/**
 * Writes records of the sources, forget and usage topics (keyed; a null value is a
 * tombstone) through a producer of the Kafka port, acks=all: resolves once they are
 * durable.
 */
import type { Producer } from '../kafka/port';

export interface KeyedValue {
  key: string;
  value: string | null;
}

export async function writeKeyed(
  producer: Producer,
  topic: string,
  records: KeyedValue[],
): Promise<void> {
  if (records.length === 0) return;
  await producer.sendBatch({
    topicMessages: [{ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) }],
  });
}

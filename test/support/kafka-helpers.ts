/**
 * Helpers for tests against a real broker: fresh random topics, reading a topic from the
 * beginning until a condition holds, and `waitFor` instead of sleeps.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, KafkaMessage } from 'kafkajs';

export function testKafka(brokers: string[]): Kafka {
  return new Kafka({
    clientId: `test-${randomUUID().slice(0, 8)}`,
    brokers,
    logLevel: logLevel.NOTHING,
  });
}

export const randomName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function createTopic(
  admin: Admin,
  topic: string,
  numPartitions: number,
): Promise<void> {
  await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1 }],
    waitForLeaders: true,
  });
}

export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/**
 * Reads topics from the beginning with a fresh group until `done(messages)` holds or the
 * timeout passes; returns everything read.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string | string[],
  done: (messages: ReadMessage[]) => boolean,
  timeoutMs = 60_000,
): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: randomName('reader'), allowAutoTopicCreation: false });
  const messages: ReadMessage[] = [];
  const topics = Array.isArray(topic) ? topic : [topic];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) messages.push(toRead(batch.topic, batch.partition, m));
        await Promise.resolve();
      },
    });
    await waitFor(() => done(messages), {
      timeoutMs,
      what: `messages in ${topics.join(', ')}`,
    }).catch(() => undefined);
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

function toRead(topic: string, partition: number, m: KafkaMessage): ReadMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {}))
    if (v !== undefined) headers[k] = v.toString();
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key?.toString() ?? null,
    value: m.value?.toString() ?? '',
    headers,
  };
}

/**
 * Helpers for tests against a real broker: an admin and a producer per test file, fresh
 * random topics, reading a topic from the beginning until a condition holds, and
 * `waitFor` instead of sleeps.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { TOPIC_ENV } from '../../lib/config';
import type { KafkaConfig, TopicRole } from '../../lib/config';
import { createKafkaClient } from '../../lib/kafka/client';
import type {
  Admin,
  ConsumedRecord,
  KafkaClient,
  KafkaClientName,
  OutRecord,
  Producer,
  TopicSpec,
} from '../../lib/kafka/port';

/** A Kafka client of the port (kafkajs unless told), silent. */
export function testKafka(brokers: string[], client: KafkaClientName = 'kafkajs'): KafkaClient {
  return createKafkaClient(
    { client, clientId: `test-${randomUUID().slice(0, 8)}`, brokers },
    pino({ level: 'silent' }),
    { silent: true },
  );
}

/** Sends records to one topic (acks=all) and waits for Kafka's acknowledgement. */
export async function sendRecords(
  producer: Producer,
  topic: string,
  messages: OutRecord[],
): Promise<void> {
  await producer.sendBatch({ topicMessages: [{ topic, messages }] });
}

export const randomName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

const TOPIC_ROLES = Object.keys(TOPIC_ENV) as TopicRole[];

/** A fresh random topic for every role (`<prefix>-<role>-<random>`). */
export const randomTopics = (prefix: string): KafkaConfig['topics'] =>
  Object.fromEntries(
    TOPIC_ROLES.map((role) => [role, randomName(`${prefix}-${role}`)]),
  ) as KafkaConfig['topics'];

/** The environment that makes a service process use `topics`. */
export const topicEnv = (topics: KafkaConfig['topics']): Record<string, string> =>
  Object.fromEntries(TOPIC_ROLES.map((role) => [TOPIC_ENV[role], topics[role]]));

export async function createTopic(
  admin: Admin,
  topic: string,
  numPartitions: number,
  configEntries?: TopicSpec['configEntries'],
): Promise<void> {
  try {
    await admin.createTopics([
      { topic, numPartitions, replicationFactor: 1, ...(configEntries ? { configEntries } : {}) },
    ]);
  } catch (err) {
    // A broker that just started can answer the leader wait before its metadata has the
    // new topic (kafkajs retries only LEADER_NOT_AVAILABLE): wait for the leaders here.
    if (!/UNKNOWN_TOPIC_OR_PARTITION|does not host this topic-partition/i.test(String(err)))
      throw err;
    await waitFor(
      async () => {
        const meta = await admin.fetchTopicMetadata([topic]).catch(() => null);
        const parts = meta?.[0]?.partitions ?? [];
        return parts.length === numPartitions && parts.every((p) => p.leader >= 0);
      },
      { timeoutMs: 30_000, what: `leaders of ${topic}` },
    );
  }
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
  kafka: KafkaClient,
  topic: string | string[],
  done: (messages: ReadMessage[]) => boolean,
  timeoutMs = 60_000,
): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: randomName('reader') });
  const messages: ReadMessage[] = [];
  const topics = Array.isArray(topic) ? topic : [topic];
  await consumer.connect();
  try {
    for (const t of topics) await consumer.subscribe(t, { fromBeginning: true });
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

/**
 * Every committed record of the topics up to their end as it was when the read started
 * (the end may be a transaction marker: a batch of markers only reaches `onBatchEnd`).
 */
export async function readToEnd(
  kafka: KafkaClient,
  topics: string[],
  timeoutMs = 60_000,
): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  try {
    for (const topic of topics)
      for (const o of await admin.fetchTopicOffsets(topic))
        if (BigInt(o.high) > BigInt(o.low)) ends.set(`${topic}/${o.partition}`, BigInt(o.high));
  } finally {
    await admin.disconnect();
  }
  const reached = (topic: string, partition: number, lastOffset: string): void => {
    const end = ends.get(`${topic}/${partition}`);
    if (end !== undefined && BigInt(lastOffset) + 1n >= end) ends.delete(`${topic}/${partition}`);
  };
  const consumer = kafka.consumer({ groupId: randomName('reader') });
  consumer.onBatchEnd((e) => reached(e.topic, e.partition, e.lastOffset));
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    for (const t of topics) await consumer.subscribe(t, { fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) messages.push(toRead(batch.topic, batch.partition, m));
        reached(batch.topic, batch.partition, batch.lastOffset());
        await Promise.resolve();
      },
    });
    await waitFor(() => ends.size === 0, { timeoutMs, what: `the end of ${topics.join(', ')}` });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

function toRead(topic: string, partition: number, m: ConsumedRecord): ReadMessage {
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

/** What the broker holds for each topic: partitions, replicas per partition, and `configNames`. */
export async function topicSettings(
  admin: Admin,
  topics: string[],
  configNames: string[],
): Promise<
  { topic: string; partitions: number; replicas: number[]; configs: Record<string, string> }[]
> {
  const meta = await admin.fetchTopicMetadata(topics);
  const configs = await admin.describeTopicConfigs(topics, configNames);
  return topics.map((topic) => {
    const t = meta.find((m) => m.name === topic);
    return {
      topic,
      partitions: t?.partitions.length ?? 0,
      replicas: (t?.partitions ?? []).map((p) => p.replicas.length),
      configs: configs[topic] ?? {},
    };
  });
}

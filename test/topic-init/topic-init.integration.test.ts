/**
 * services/topic-init as the containers run it (the built process, on the real broker):
 * it creates every topic of lib/kafka/topics.ts and lib/sources/topics.ts with the settings the docs promise for
 * its defaults on one broker (replication factor 1, min.insync.replicas 1, compaction for
 * the keyed state topics, replies kept an hour), exits 0, and exits 0 again when they exist.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { Admin } from '../../lib/kafka/port';
import { kafkaDefaults } from '../../lib/config';
import type { KafkaConfig } from '../../lib/config';
import { intakeTopics } from '../../lib/kafka/topics';
import { sourceTopics } from '../../lib/sources/topics';
import { randomTopics, testKafka, topicEnv, topicSettings } from '../support/kafka-helpers';
import { ROOT, TEST_BROKER } from '../support/test-env';

describe('topic-init (real process, real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  let admin: Admin;
  const topics = randomTopics('init');
  const config: KafkaConfig = { ...kafkaDefaults, topics };

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(() => admin.disconnect());

  const run = () =>
    spawnSync(process.execPath, [resolve(ROOT, 'dist', 'services', 'topic-init', 'main.js')], {
      env: {
        ...process.env,
        INTAKE_KAFKA_BROKERS: TEST_BROKER.brokers.join(','),
        INTAKE_TOPIC_PARTITIONS: '2',
        ...topicEnv(topics),
      },
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('creates every topic with its promised settings, and is idempotent', async () => {
    const first = run();
    expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: '' });
    const specs = [...intakeTopics(config, 2, 1), ...sourceTopics(config, 1)];
    const settings = await topicSettings(
      admin,
      specs.map((s) => s.topic),
      ['min.insync.replicas', 'cleanup.policy', 'retention.ms'],
    );
    expect(settings).toEqual(
      specs.map((s) => {
        const wanted = Object.fromEntries((s.configEntries ?? []).map((e) => [e.name, e.value]));
        return {
          topic: s.topic,
          partitions: s.numPartitions,
          replicas: new Array<number>(s.numPartitions).fill(1),
          configs: expect.objectContaining({
            'min.insync.replicas': '1',
            'cleanup.policy': wanted['cleanup.policy'] ?? 'delete',
            ...(wanted['retention.ms'] ? { 'retention.ms': wanted['retention.ms'] } : {}),
          }) as Record<string, string>,
        };
      }),
    );
    expect(run().status).toBe(0);
  });
});
